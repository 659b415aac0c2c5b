package container

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ctr-unit/ctr-unit/network"
)

// Image is what an image says about the containers run from it.
type Image struct {
	ID         string
	Name       string
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	StopSignal string
	// ExposedPorts are its EXPOSE entries (PORT[/PROTO]), sorted.
	ExposedPorts []string
	// Healthcheck is the image's HEALTHCHECK (docker and podman images
	// carry one; the OCI spec has none).
	Healthcheck *ImageHealth
}

// ImageHealth is a docker-format healthcheck.
type ImageHealth struct {
	Test        []string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// ApplyImage fills what the user left unset from the image's config, as
// podman does: the command (entrypoint plus the user's arguments or the
// image's Cmd), environment (the user's entries win), working directory,
// user, stop signal and healthcheck; with -P, the exposed ports.
func ApplyImage(o Options, img Image) (Options, error) {
	o.ImageID = img.ID
	o.Command = CommandLine(o.Entrypoint, o.Command, img.Entrypoint, img.Cmd)
	o.Env = mergeEnv(img.Env, o.Env)
	if o.WorkDir == "" && img.WorkingDir != "" {
		o.WorkDir, o.WorkDirFromImage = img.WorkingDir, true
	}
	if o.User == "" {
		o.User = img.User
	}
	if o.StopSignal == 0 && img.StopSignal != "" {
		sig, err := ParseSignal(img.StopSignal)
		if err != nil {
			return o, fmt.Errorf("%w: image %s: STOPSIGNAL: %w", ErrInvalid, img.Name, err)
		}
		o.StopSignal = Signal(sig)
	}
	h, err := imageHealth(o.Health, img.Healthcheck)
	if err != nil {
		return o, fmt.Errorf("%w: image %s: HEALTHCHECK: %w", ErrInvalid, img.Name, err)
	}
	o.Health = h
	if o.Net.PublishAll {
		ports, err := network.PublishExposed(img.ExposedPorts, o.Net.Ports)
		if err != nil {
			return o, fmt.Errorf("%w: image %s: %w", ErrInvalid, img.Name, err)
		}
		o.Net.Ports = append(slices.Clip(o.Net.Ports), ports...)
	}
	return o, nil
}

// CommandLine is the argv a container runs, as podman composes it: the
// entrypoint, the user's (nil: none given) or else the image's, followed
// by the user's arguments or, when there are none, the image's Cmd. A
// user's entrypoint drops the image's Cmd, which was written for the
// image's own entrypoint; an empty one only clears the image's entrypoint,
// so the Cmd stays. A container without an image passes nil for both.
func CommandLine(entrypoint, args, imageEntrypoint, imageCmd []string) []string {
	if entrypoint == nil {
		entrypoint = imageEntrypoint
	} else if len(entrypoint) > 0 {
		imageCmd = nil
	}
	if len(args) == 0 {
		args = imageCmd
	}
	return append(slices.Clone(entrypoint), args...)
}

// imageHealth fills the healthcheck options the user left unset from the
// image's HEALTHCHECK, as podman does. --no-healthcheck, --health-cmd
// none, and an image's NONE mean no check.
func imageHealth(o HealthOptions, h *ImageHealth) (HealthOptions, error) {
	if h == nil || len(h.Test) == 0 || h.Test[0] == "NONE" || o.Disabled {
		return o, nil
	}
	if o.Cmd == nil {
		test, err := healthTest(h.Test)
		if err != nil {
			return o, err
		}
		o.Cmd = test
	}
	setIfPositive := func(dst **time.Duration, d time.Duration) {
		if *dst == nil && d > 0 {
			*dst = &d
		}
	}
	setIfPositive(&o.Interval, h.Interval)
	setIfPositive(&o.Timeout, h.Timeout)
	setIfPositive(&o.StartPeriod, h.StartPeriod)
	if o.Retries == 0 && h.Retries > 0 {
		o.Retries = h.Retries
	}
	return o, nil
}

// mergeEnv is base with over's entries replacing those of the same key.
func mergeEnv(base, over []string) []string {
	out := slices.Clone(base)
	for _, e := range over {
		k, _, _ := strings.Cut(e, "=")
		i := slices.IndexFunc(out, func(b string) bool { b, _, _ = strings.Cut(b, "="); return b == k })
		if i >= 0 {
			out[i] = e
		} else {
			out = append(out, e)
		}
	}
	return out
}

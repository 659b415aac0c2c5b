package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/pullpolicy"
	"github.com/ctr-unit/ctr-unit/supervisor"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// autoUpdated is one line of auto-update's report, with podman's fields.
type autoUpdated struct {
	Unit      string `json:"Unit"`
	Container string `json:"ContainerName"`
	Image     string `json:"ContainerImage"`
	Policy    string `json:"Policy"`
	// Updated is podman's: true, false, rolled back or failed; with
	// --dry-run pending or false.
	Updated string `json:"Updated"`
	Error   string `json:"Error,omitempty"`
}

func (a *app) autoUpdateCommand() *cobra.Command {
	var rollback, dryRun bool
	var format string
	cmd := &cobra.Command{
		Use:   "auto-update [--dry-run] [--rollback=false] [--format json]",
		Short: "Pull newer images of running containers labelled io.containers.autoupdate=registry, and restart them",
		Long: "For each running container labelled io.containers.autoupdate=registry (AutoUpdate=registry\n" +
			"in a file), pull its image's name again (policy newer) and, when the registry had a new\n" +
			"image, make the container anew from it: restart its unit where the unit makes it as it\n" +
			"starts (a definition file, a unit of generate systemd --new), else replace it as run -d or\n" +
			"create made it, with the same options.\n" +
			"If that fails, or the container does not then run (or become healthy, with\n" +
			"Notify=healthy), the name goes back to the previous image and the unit restarts again.\n" +
			"With --dry-run, only ask each registry whether there is a new image (UPDATED pending).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			report, err := a.autoUpdate(cmd.Context(), sv, rollback, dryRun)
			if format == "json" {
				out, jerr := json.MarshalIndent(report, "", "  ")
				if jerr != nil {
					return jerr
				}
				fmt.Println(string(out))
			} else {
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
				fmt.Fprintln(w, "UNIT\tCONTAINER\tIMAGE\tPOLICY\tUPDATED")
				for _, r := range report {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Unit, r.Container, r.Image, r.Policy, r.Updated)
				}
				w.Flush()
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&rollback, "rollback", true, "go back to the previous image when the updated container fails")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only check for new images: pull nothing, restart nothing")
	cmd.Flags().StringVar(&format, "format", "", "json for JSON")
	return cmd
}

// autoUpdate updates every running container that asks for it; the
// error joins the failures (each also in its report line).
func (a *app) autoUpdate(ctx context.Context, sv *supervisor.Supervisor, rollback, dryRun bool) ([]autoUpdated, error) {
	infos, err := sv.List(ctx, false)
	if err != nil {
		return nil, err
	}
	var report []autoUpdated
	var errs []error
	for _, info := range infos {
		cfg := info.Config
		policy, ok := cfg.Labels[container.LabelAutoUpdate]
		if !ok {
			continue
		}
		r := autoUpdated{Unit: cfg.Unit, Container: cfg.Name, Image: cfg.ImageName, Policy: policy}
		if r.Image == "" {
			r.Image = cfg.Image
		}
		if err := a.updateOne(ctx, sv, cfg, r.Image, policy, rollback, dryRun, &r); err != nil {
			r.Error = err.Error()
			errs = append(errs, err)
		}
		report = append(report, r)
	}
	return report, errors.Join(errs...)
}

// updateOne updates one container, saying how in r.Updated.
func (a *app) updateOne(ctx context.Context, sv *supervisor.Supervisor, cfg *container.Config, image, policy string, rollback, dryRun bool, r *autoUpdated) error {
	r.Updated = "failed"
	switch {
	case policy != "registry":
		return fmt.Errorf("container %s: auto-update policy %q: only registry is supported", cfg.Name, policy)
	}
	info, err := sv.Inspect(ctx, cfg.Name)
	if err != nil {
		return err
	}
	way, err := remakeWay(cfg, info.Unit)
	if err != nil {
		return err
	}
	if dryRun {
		pending, err := pullPending(ctx, a.globals, a.storageDriver, image, cfg.AuthFile)
		if err != nil {
			return fmt.Errorf("container %s: check %s: %w", cfg.Name, image, err)
		}
		r.Updated = "false"
		if pending {
			r.Updated = "pending"
		}
		return nil
	}
	id, _, err := runPull(ctx, a.globals, a.storageDriver, image, pullpolicy.Newer, cfg.AuthFile)
	if err != nil {
		return fmt.Errorf("container %s: pull %s: %w", cfg.Name, image, err)
	}
	if id == cfg.ImageID {
		r.Updated = "false"
		return nil
	}
	startErr := a.remake(ctx, sv, cfg, way, id)
	if startErr == nil {
		r.Updated = "true"
		return nil
	}
	if !rollback {
		return startErr
	}
	// Back to the image it ran: the name moves back, and the unit makes
	// the container from it again.
	store, err := a.openImages()
	if err != nil {
		return errors.Join(startErr, err)
	}
	_, err = store.Tag(cfg.ImageID, image)
	store.Close()
	if err != nil {
		return errors.Join(startErr, fmt.Errorf("container %s: roll back to image %s: %w", cfg.Name, cfg.ImageID, err))
	}
	if err := a.remake(ctx, sv, cfg, way, cfg.ImageID); err != nil {
		return errors.Join(startErr, fmt.Errorf("container %s: after rolling back to image %s: %w", cfg.Name, cfg.ImageID, err))
	}
	r.Updated = "rolled back"
	return nil
}

// restartRunning restarts a container's unit and checks that it runs
// (systemd's restart job ends once the unit is ready: healthy, for
// Notify=healthy).
func restartRunning(ctx context.Context, sv *supervisor.Supervisor, name string) error {
	if err := sv.Restart(ctx, name, nil); err != nil {
		return err
	}
	info, err := sv.Inspect(ctx, name)
	if err != nil {
		return err
	}
	if info.Status != supervisor.StatusRunning {
		return fmt.Errorf("container %s is %s after its restart", name, info.Status)
	}
	return nil
}

// remaking is how auto-update makes a container anew from its image's
// name, once the name points at a new image.
type remaking int

const (
	// remakeByRestart: a restart makes it from its definition file.
	remakeByRestart remaking = iota
	// remakeByUnit: its unit makes it as it starts (generate systemd
	// --new) and removes it as it stops: the unit is restarted.
	remakeByUnit
	// remakeByRun: run -d --replace with the flags it was made with,
	// for a container of run -d (a transient unit, gone once it stops).
	remakeByRun
	// remakeByCreate: create --replace with them, then start, for an
	// instance of ctr@.service made by create.
	remakeByCreate
)

// remakeWay decides how container cfg, whose unit is unit, is made anew
// from its image's name, as podman's auto-update restarts a unit that
// makes its container at start.
func remakeWay(cfg *container.Config, unit units.Status) (remaking, error) {
	switch {
	case cfg.Image == "":
		return 0, fmt.Errorf("container %s: auto-update needs a container made from an image, not a rootfs directory", cfg.Name)
	case cfg.Source != "":
		return remakeByRestart, nil
	case unit.HasUnitFile() && !units.IsTemplateInstance(cfg.Unit):
		return remakeByUnit, nil
	case len(cfg.CreateCommand) == 0:
		return 0, fmt.Errorf("container %s: its record does not say how it was made (an older ctr-unit made it): create it again to have it updated", cfg.Name)
	case units.IsTemplateInstance(cfg.Unit):
		return remakeByCreate, nil
	}
	return remakeByRun, nil
}

// remake makes container cfg anew from its image's name, which now names
// image, and checks that it runs from it.
func (a *app) remake(ctx context.Context, sv *supervisor.Supervisor, cfg *container.Config, way remaking, image string) error {
	switch way {
	case remakeByRestart:
		if err := restartRunning(ctx, sv, cfg.Name); err != nil {
			return err
		}
	case remakeByUnit:
		if err := sv.RestartUnit(ctx, cfg.Name, cfg.Unit); err != nil {
			return err
		}
	case remakeByRun, remakeByCreate:
		args := []string{"run", "-d", "--replace"}
		if way == remakeByCreate {
			args = []string{"create", "--replace"}
		}
		if cfg.AutoRemove {
			args = append(args, "--rm")
		}
		if err := a.self(ctx, append(args, cfg.CreateCommand...)...); err != nil {
			return fmt.Errorf("container %s: make it anew: %w", cfg.Name, err)
		}
		if way == remakeByCreate {
			if err := sv.Start(ctx, cfg.Name, supervisor.StartOptions{}); err != nil {
				return err
			}
		}
	}
	info, err := sv.Inspect(ctx, cfg.Name)
	if err != nil {
		return err
	}
	switch {
	case info.Config.ImageID != image:
		return fmt.Errorf("container %s still runs image %s, not %s: its unit does not make it anew as it starts (generate its unit with generate systemd --new)", cfg.Name, info.Config.ImageID, image)
	case info.Status != supervisor.StatusRunning:
		return fmt.Errorf("container %s is %s after its update", cfg.Name, info.Status)
	}
	return nil
}

// self runs ctr-unit itself with the same global options: a container
// made anew from the flags it was made with goes through the same parsing
// as they did.
func (a *app) self(ctx context.Context, args ...string) error {
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate the ctr-unit binary: %w", err)
	}
	argv := unitstep.Runner{Globals: a.globals, Full: bin}.Command(args...)
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s: %w", strings.TrimSpace(stderr.String()), err)
	}
	return nil
}

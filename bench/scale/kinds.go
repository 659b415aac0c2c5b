package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/ociruntime/seccomp"
	"github.com/ctr-unit/ctr-unit/units"
)

// Every container is busybox's sleep, stopped with SIGKILL: as the init of
// its pid namespace, sleep ignores SIGTERM, and a stop would wait out the
// timeout. All three kinds are enabled the same way: wanted by
// scale.target, which multi-user.target wants, and part of it, so that
// stopping the target stops them all.
var sleepArgs = []string{"sleep", "100000"}

const target = "scale.target"

// containerName is the i-th container's name.
func containerName(i int) string { return fmt.Sprintf("c%d", i) }

// unitOf is the unit of container name for kind.
func unitOf(kind, name string) string {
	switch kind {
	case kindPodman:
		return "container-" + name + ".service"
	case kindFloor:
		return "floor-" + name + ".service"
	}
	return units.TemplateInstance(name)
}

// binDir holds the ctr-unit binaries a kind runs.
func (c *config) binDir(kind string) string {
	if kind == kindBase {
		return filepath.Join(c.work, "base")
	}
	return filepath.Join(c.work, "bin")
}

// stateDir is where a box's ctr-unit keeps its records: persisted, as
// /var/lib/ctr-unit is.
func stateDir(persist string) string { return filepath.Join(persist, "state") }

// define writes n containers of kind into the box's persisted unit
// directories, enabled.
func (c *config) define(b *box, kind string, n int) error {
	err := b.write("etc-systemd-system/"+target, "[Unit]\nDescription=bench-scale containers\n\n[Install]\nWantedBy=multi-user.target\n", 0o644)
	if err == nil {
		err = b.link("etc-systemd-system/multi-user.target.wants/"+target, "/etc/systemd/system/"+target)
	}
	if err != nil {
		return err
	}
	switch kind {
	case kindCtr, kindBase:
		return c.defineCtr(b, kind, n)
	case kindPodman:
		return c.definePodman(b, n)
	case kindFloor:
		return c.defineFloor(b, n)
	}
	return fmt.Errorf("unknown kind %q", kind)
}

// defineCtr writes NAME.container files and installs ctr-unit as make
// install does: the template, and the generator (a script, to give it
// this box's state directory).
func (c *config) defineCtr(b *box, kind string, n int) error {
	tmpl, err := os.ReadFile(filepath.Join(c.repo, "packaging", "ctr@.service"))
	if err != nil {
		return err
	}
	if err := b.write("etc-systemd-system/ctr@.service", string(tmpl), 0o644); err != nil {
		return err
	}
	gen := fmt.Sprintf("#!/bin/sh\nCTR_UNIT_STATE_DIR=%s exec %s internal generator \"$@\"\n", stateDir(b.persist), filepath.Join(c.binDir(kind), "ctr-unit"))
	if err := b.write("etc-systemd-system-generators/ctr-unit-generator", gen, 0o755); err != nil {
		return err
	}
	for i := range n {
		def := fmt.Sprintf("[Unit]\nPartOf=%s\n\n[Container]\nRootfs=%s\nExec=%s\nNetwork=host\nStopSignal=SIGKILL\n\n[Install]\nWantedBy=%s\n",
			target, c.rootfs(), strings.Join(sleepArgs, " "), target)
		if err := b.write("etc-ctr-unit/"+containerName(i)+".container", def, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// defineFloor writes units that do what a ctr-unit container's unit does
// with runc alone: runc run -d in a Type=forking unit, runc delete after.
func (c *config) defineFloor(b *box, n int) error {
	runc, err := lookRunc()
	if err != nil {
		return err
	}
	var filters seccomp.Profiles
	for i := range n {
		name := containerName(i)
		unit := unitOf(kindFloor, name)
		bundle := filepath.Join(c.work, "floor", name)
		if _, err := os.Stat(filepath.Join(bundle, "config.json")); err != nil {
			spec := ociruntime.Spec(ociruntime.SpecConfig{
				Rootfs: c.rootfs(), Args: sleepArgs, HostNetwork: true,
				CgroupsPath: units.ControlGroup("system.slice", unit) + "/ctr",
			})
			// The same container as ctr-unit's: with its default
			// seccomp filter, which runc compiles at every start.
			if spec.Linux.Seccomp, err = filters.For(seccomp.Default, spec); err != nil {
				return err
			}
			if err := ociruntime.WriteBundle(bundle, spec); err != nil {
				return err
			}
		}
		pid := "/run/floor-" + name + ".pid"
		text := fmt.Sprintf(`[Unit]
Description=floor container %[1]s
PartOf=%[2]s

[Service]
Type=forking
PIDFile=%[3]s
Delegate=yes
KillMode=mixed
KillSignal=SIGKILL
ExecStart=%[4]s --root /run/floor-runc run --detach --pid-file %[3]s --bundle %[5]s %[1]s
ExecStopPost=%[4]s --root /run/floor-runc delete --force %[1]s
`, name, target, pid, runc, bundle)
		if err := b.write("etc-systemd-system/"+unit, text, 0o644); err != nil {
			return err
		}
		if err := b.link("etc-systemd-system/"+target+".wants/"+unit, "/etc/systemd/system/"+unit); err != nil {
			return err
		}
	}
	return nil
}

func lookRunc() (string, error) {
	r, err := ociruntime.FindRunc("", "")
	if err != nil {
		return "", err
	}
	return r.Path, nil
}

// Podman keeps its storage in the work directory (configured by files the
// environment names, since the units podman generates drop its global
// flags from every command but the start).
func (c *config) podmanDir() string { return filepath.Join(c.work, "podman") }

func (c *config) podmanEnv() []string {
	return []string{
		"CONTAINERS_STORAGE_CONF=" + filepath.Join(c.podmanDir(), "storage.conf"),
		"CONTAINERS_CONF=" + filepath.Join(c.podmanDir(), "containers.conf"),
	}
}

// podmanCreate are the options of every podman container: host network
// as ctr-unit's default; no pids limit, since the v2 boxes have no
// controllers to set one with (neither ctr-unit nor the floor sets one).
func (c *config) podmanCreate(name string) []string {
	return append([]string{"--name", name, "--network", "host", "--pids-limit", "-1", "--stop-signal", "KILL", "--rootfs", c.rootfs()}, sleepArgs...)
}

const podmanPlaceholder = "scaleplaceholder"

// podmanSetup writes podman's configuration and has podman generate the
// unit of one container (generate systemd --new), in a box: each of the N
// units is that one with the name changed.
func (c *config) podmanSetup() error {
	dir := c.podmanDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	storage := fmt.Sprintf("[storage]\ndriver = \"overlay\"\nrunroot = \"/run/scale-podman\"\ngraphroot = %q\n", filepath.Join(dir, "storage"))
	if err := os.WriteFile(filepath.Join(dir, "storage.conf"), []byte(storage), 0o644); err != nil {
		return err
	}
	// runc: crun fails on these machines (see the field notes).
	if err := os.WriteFile(filepath.Join(dir, "containers.conf"), []byte("[engine]\nruntime = \"runc\"\n"), 0o644); err != nil {
		return err
	}
	b := c.newBox("pgen", "")
	if err := b.up(); err != nil {
		return err
	}
	defer b.downOrSay()
	script := fmt.Sprintf("export %s; podman create %s >/dev/null && podman generate systemd --new --name %s && podman rm %s >/dev/null",
		strings.Join(c.podmanEnv(), " "), strings.Join(c.podmanCreate(podmanPlaceholder), " "), podmanPlaceholder, podmanPlaceholder)
	unit, err := b.exec("sh", "-c", script)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "unit.template"), []byte(unit), 0o644)
}

var installSection = regexp.MustCompile(`(?s)\n\[Install\].*`)

// definePodman writes podman's generated unit for each container, with
// the environment that finds this bench's storage, part of the target.
func (c *config) definePodman(b *box, n int) error {
	tmpl, err := os.ReadFile(filepath.Join(c.podmanDir(), "unit.template"))
	if err != nil {
		return err
	}
	text := installSection.ReplaceAllString(string(tmpl), "\n")
	text = strings.Replace(text, "[Unit]\n", "[Unit]\nPartOf="+target+"\n", 1)
	env := ""
	for _, e := range c.podmanEnv() {
		env += "Environment=" + e + "\n"
	}
	text = strings.Replace(text, "[Service]\n", "[Service]\n"+env, 1)
	for i := range n {
		name := containerName(i)
		unit := unitOf(kindPodman, name)
		if err := b.write("etc-systemd-system/"+unit, strings.ReplaceAll(text, podmanPlaceholder, name), 0o644); err != nil {
			return err
		}
		if err := b.link("etc-systemd-system/"+target+".wants/"+unit, "/etc/systemd/system/"+unit); err != nil {
			return err
		}
	}
	return nil
}

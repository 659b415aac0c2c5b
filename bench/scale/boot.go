package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// bootFigures are what one kind of container costs with N of them, all
// enabled and started at boot.
type bootFigures struct {
	// Boots: the first boot makes what later ones find (ctr-unit's
	// records, podman's storage); the last one is the steady state.
	Boots []bootTimes
	Mem   memFigures
	// Commands with N containers running, by name.
	Commands map[string]cmdFigure
	// Reload: systemctl daemon-reload; Generator: ctr-unit's generator
	// alone, into an empty directory.
	Reload, Generator, GeneratorBase time.Duration
	Stop                             stopFigures
}

// bootTimes are read from systemd's own timestamps (monotonic clock).
type bootTimes struct {
	// ToRunning: from systemd's start to the last container's unit
	// active.
	ToRunning time.Duration
	// Generators: systemd running every generator (ctr-unit's among
	// them) before it loads units.
	Generators time.Duration
	// LoadedToRunning: from the units loaded (the boot transaction
	// queued) to the last container active.
	LoadedToRunning time.Duration
	Active          int
	// Restarts: of the containers' units, by systemd, during the boot
	// (a container that failed to start and was started again).
	Restarts int
	// CPU: everything the box used from its start (the boot) until all
	// its containers ran, and systemd's (PID 1's) share of it.
	CPU, PID1CPU time.Duration
}

type memFigures struct {
	PID1RSSKiB int
	// PSSKiB and Procs: every process of the containers' units (and of
	// podman's container scopes), in total.
	PSSKiB, Procs int
	// Others counts the processes that are not the containers' own.
	Others map[string]int
}

type cmdFigure struct {
	Wall, Base time.Duration
}

type stopFigures struct {
	// All: from systemctl stop of the target to the last container's
	// unit inactive; Return: until systemctl returned.
	All, Return time.Duration
	// CPU the box used from the stop until all were stopped.
	CPU time.Duration
}

// bootRun boots a box with n containers of kind, enabled, as many times as
// c.boots asks, and measures the last boot: memory, the commands, reload
// and the generator, and a stop of them all.
func (c *config) bootRun(kind string, n int) (*bootFigures, error) {
	short := map[string]string{kindCtr: "ctr", kindBase: "base", kindPodman: "pod", kindFloor: "floor"}[kind]
	persist := filepath.Join(c.work, fmt.Sprintf("boot-%s-%d", short, n))
	if err := os.MkdirAll(persist, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(persist)
	b := c.newBox(fmt.Sprintf("%s%d", short, n), persist)
	if err := c.define(b, kind, n); err != nil {
		return nil, err
	}
	f := &bootFigures{}
	args := []string{"-kind", kind, "-n", strconv.Itoa(n), "-persist", persist, "-reps", strconv.Itoa(c.reps)}
	for i := range c.bootsOf(kind) {
		var err error
		if i == 0 {
			err = b.up()
		} else {
			err = b.reboot()
		}
		if err != nil {
			b.downOrSay()
			return nil, err
		}
		var t bootTimes
		if err := b.innerJSON(&t, "boot", args...); err != nil {
			b.downOrSay()
			return nil, err
		}
		f.Boots = append(f.Boots, t)
	}
	defer b.downOrSay()
	steps := []struct {
		what string
		v    any
	}{
		{"memory", &f.Mem},
		{"commands", &f.Commands},
		{"reload", f},
		{"stopall", &f.Stop},
	}
	for _, s := range steps {
		if err := b.innerJSON(s.v, s.what, args...); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// bootsOf is how many times kind's box is booted: the floor's once, as
// nothing of it differs between a first boot and a reboot (the same unit
// files, no records to find); its one boot stands in both rows.
func (c *config) bootsOf(kind string) int {
	if kind == kindFloor {
		return 1
	}
	return c.boots
}

// keepUp boots a box with n containers of kind and leaves it up.
func (c *config) keepUp(kind string, n int) error {
	persist := filepath.Join(c.work, fmt.Sprintf("keep-%d", n))
	b := c.newBox(fmt.Sprintf("keep%d", n), persist)
	if err := c.define(b, kind, n); err != nil {
		return err
	}
	if err := b.up(); err != nil {
		return err
	}
	fmt.Printf("box %s is up; state dir %s, binaries %s\nhack/sysbox exec %s -- %s/ctr-unit --state-dir %s ps\nwhen done: hack/sysbox down %s; rm -rf %s\n",
		b.name, stateDir(persist), c.binDir(kind), b.name, c.binDir(kind), stateDir(persist), b.name, c.work)
	return nil
}

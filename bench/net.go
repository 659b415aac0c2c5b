package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// networkFigures times run -d until running and stop of a container on a
// bridge network with one published port, for ctr-unit (its default
// network, ctr-unit) and podman (its default network, podman, both through
// netavark), each beside the same container with --network none: the
// network's cost over none is what the two compare on. They take turns,
// so all see the same machine. Only loopback and the containers' bridges
// of the box's own network namespace are involved.
func (b *bench) networkFigures(settle time.Duration) {
	netDir := filepath.Join(b.dir, "networks")
	os.Setenv("CTR_UNIT_NETWORK_CONFIG_DIR", netDir)
	podman := func(args ...string) error { return run("podman", args...) }
	type variant struct {
		name        string
		start, stop func(i int) error
	}
	ctrRun := func(netArgs ...string) func(int) error {
		return func(i int) error {
			args := append([]string{"run", "-d", "--name", fmt.Sprintf("nb%d", i), "--rootfs", b.rootfs}, netArgs...)
			return b.ctr(append(append(args, "--"), termable...)...)
		}
	}
	ctrStop := func(i int) error {
		if err := b.ctr("stop", fmt.Sprintf("nb%d", i)); err != nil {
			return err
		}
		return b.ctr("rm", fmt.Sprintf("nb%d", i))
	}
	podRun := func(netArgs ...string) func(int) error {
		return func(i int) error {
			// --rootfs takes no value: the directory is the image
			// argument, so the options go first. No pids limit, as
			// ctr-unit's (the box's machine.slice has no pids
			// controller).
			args := append([]string{"run", "-d", "--name", fmt.Sprintf("pb%d", i), "--pids-limit", "-1"}, netArgs...)
			return podman(append(append(args, "--rootfs", b.rootfs), termable...)...)
		}
	}
	podStop := func(i int) error {
		if err := podman("stop", fmt.Sprintf("pb%d", i)); err != nil {
			return err
		}
		return podman("rm", fmt.Sprintf("pb%d", i))
	}
	variants := []variant{
		{"ctr-unit --network none", ctrRun("--network", "none"), ctrStop},
		{"ctr-unit --network bridge -p 18180:80", ctrRun("--network", "bridge", "-p", "18180:80"), ctrStop},
		{"podman --network none", podRun("--network", "none"), podStop},
		{"podman (default network) -p 18181:80", podRun("-p", "18181:80"), podStop},
	}
	starts := make([][]time.Duration, len(variants))
	stops := make([][]time.Duration, len(variants))
	// One untimed round first: the bridges and global firewall chains are
	// made once per network and boot, not per container.
	for i, v := range variants {
		must(v.start(1000 + i))
		must(v.stop(1000 + i))
	}
	for i := range b.runs {
		for j, v := range variants {
			time.Sleep(settle)
			starts[j] = append(starts[j], timed(func() error { return v.start(i) }))
			time.Sleep(settle)
			// stop and rm: podman tears its network down in its cleanup
			// (conmon's exit command), which rm waits for.
			stops[j] = append(stops[j], timed(func() error { return v.stop(i) }))
		}
	}
	fmt.Printf("network: settled %v, medians of %d\n", settle, b.runs)
	for j, v := range variants {
		fmt.Printf("  %-40s run -d %9s   stop+rm %9s\n", v.name, ms(median(starts[j])), ms(median(stops[j])))
	}
	cost := func(j int, d [][]time.Duration) time.Duration { return median(d[j]) - median(d[j-1]) }
	fmt.Printf("  network's cost over none, run -d: ctr-unit %s, podman %s\n", ms(cost(1, starts)), ms(cost(3, starts)))
	fmt.Printf("  network's cost over none, stop+rm: ctr-unit %s, podman %s\n", ms(cost(1, stops)), ms(cost(3, stops)))
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ctr-unit/ctr-unit/imagestore/testarchive"
)

// ImageBenchmarks prints image load throughput for an archive with a
// 200 MB layer of random (incompressible) data, and the start latency an
// image container adds over a rootfs container (median of runs `run -d`
// each). binary is a built ctr-unit, rootfs a busybox rootfs directory,
// dir a scratch directory on disk (stores go there) and runDir one in
// /run (runtime data); it runs inside a sysbox like the others.
func ImageBenchmarks(binary, rootfs, dir, runDir string, runs int) error {
	ctrUnit := func(state string, args ...string) *exec.Cmd {
		return exec.Command(binary, append([]string{"--state-dir", state, "--runtime-dir", filepath.Join(runDir, filepath.Base(state))}, args...)...)
	}
	// removeState removes a benchmark's store. Nothing in it is mounted:
	// the benchmark's containers are removed as it goes.
	removeState := func(state string) error {
		os.RemoveAll(filepath.Join(runDir, filepath.Base(state)))
		return os.RemoveAll(state)
	}
	work, err := os.MkdirTemp(dir, "image-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bb := filepath.Join(work, "busybox.tar")
	if err := testarchive.BusyboxLayer(bb); err != nil {
		return err
	}

	// Load throughput: each load into a fresh store.
	const size = 200 << 20
	random := filepath.Join(work, "random.tar")
	if err := testarchive.RandomLayer(random, size); err != nil {
		return err
	}
	archive := filepath.Join(work, "big.tar")
	if err := testarchive.WriteOCI(archive, testarchive.Image{Name: "big:1", Layers: []string{bb, random}}); err != nil {
		return err
	}
	os.Remove(random)
	info, err := os.Stat(archive)
	if err != nil {
		return err
	}
	loads := max(3, runs/5)
	var loadTimes []time.Duration
	for i := range loads {
		state := filepath.Join(work, fmt.Sprintf("load-%d", i))
		c := ctrUnit(state, "image", "load", "-q", "-i", archive)
		t0 := time.Now()
		out, err := c.CombinedOutput()
		loadTimes = append(loadTimes, time.Since(t0))
		if err != nil {
			return fmt.Errorf("image load: %v: %s", err, out)
		}
		if err := removeState(state); err != nil {
			return err
		}
	}
	lt := median(loadTimes)
	fmt.Printf("image load, %d MB OCI archive: median %v = %.0f MB/s (%d loads)\n",
		info.Size()>>20, lt.Round(time.Millisecond), float64(info.Size())/(1<<20)/lt.Seconds(), loads)

	// Start latency: image container vs rootfs container.
	state := filepath.Join(work, "start")
	small := filepath.Join(work, "small.tar")
	if err := testarchive.WriteOCI(small, testarchive.Image{Name: "bb:1", Layers: []string{bb}}); err != nil {
		return err
	}
	if out, err := ctrUnit(state, "image", "load", "-q", "-i", small).CombinedOutput(); err != nil {
		return fmt.Errorf("image load: %v: %s", err, out)
	}
	defer removeState(state)
	idle := []string{"sh", "-c", `trap "exit 0" TERM; sleep 100000 & wait`}
	measure := func(kind string, args func(name string) []string) (time.Duration, error) {
		var ts []time.Duration
		for i := range runs {
			name := fmt.Sprintf("bench-%s-%d", kind, i)
			c := ctrUnit(state, append([]string{"run", "-d", "--name", name}, args(name)...)...)
			t0 := time.Now()
			out, err := c.CombinedOutput()
			ts = append(ts, time.Since(t0))
			if err != nil {
				return 0, fmt.Errorf("run -d %s: %v: %s", name, err, out)
			}
			if out, err := ctrUnit(state, "rm", "-f", name).CombinedOutput(); err != nil {
				return 0, fmt.Errorf("rm -f %s: %v: %s", name, err, out)
			}
		}
		return median(ts), nil
	}
	rootfsStart, err := measure("rootfs", func(string) []string { return append([]string{"--rootfs", rootfs, "--"}, idle...) })
	if err != nil {
		return err
	}
	imageStart, err := measure("image", func(string) []string { return append([]string{"bb:1"}, idle...) })
	if err != nil {
		return err
	}
	fmt.Printf("run -d until running: rootfs container %v, image container %v (+%v for the layer: create, mount step, unmount on rm)\n",
		rootfsStart.Round(100*time.Microsecond), imageStart.Round(100*time.Microsecond), (imageStart - rootfsStart).Round(100*time.Microsecond))
	return nil
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ctr-unit/ctr-unit/imagestore/testarchive"
)

// imageFigures prints image load throughput for an archive with a
// 200 MB layer of random (incompressible) data, and the start of an image
// container against a rootfs container and the floor, and against the
// floor with an image layer as its root (medians of runs `run -d` each,
// the four taking turns, settled as lifecycleFigures' are). Stores go in
// b.dir, runtime data in b.runDir; it runs inside a sysbox like the
// others.
func (b *bench) imageFigures() error {
	binary, rootfs, dir, runDir, runs := b.binary, b.rootfs, b.dir, b.runDir, b.runs
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
	start := func(name string, args ...string) (time.Duration, error) {
		c := ctrUnit(state, append([]string{"run", "-d", "--name", name}, args...)...)
		time.Sleep(b.settle)
		t0 := time.Now()
		out, err := c.CombinedOutput()
		took := time.Since(t0)
		if err != nil {
			return 0, fmt.Errorf("run -d %s: %v: %s", name, err, out)
		}
		if out, err := ctrUnit(state, "rm", "-f", name).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("rm -f %s: %v: %s", name, err, out)
		}
		return took, nil
	}
	// The floor of an image container: the bare unit with a layer of the
	// same image as its root, made and mounted by ctr-unit (as run -d
	// makes its own), fresh at each start as run -d's is. What runc
	// itself pays for an overlay root shows as this floor against the
	// other.
	layerFloor := func(i int) (time.Duration, error) {
		name := fmt.Sprintf("bench-layer-%d", i)
		if out, err := ctrUnit(state, "create", "--name", name, "bb:1", "true").CombinedOutput(); err != nil {
			return 0, fmt.Errorf("create %s: %v: %s", name, err, out)
		}
		out, err := ctrUnit(state, "mount", name).Output()
		if err != nil {
			return 0, fmt.Errorf("mount %s: %v", name, err)
		}
		f, _ := b.floorOnce(2000+i, b.settle, strings.TrimSpace(string(out)))
		if out, err := ctrUnit(state, "umount", name).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("umount %s: %v: %s", name, err, out)
		}
		if out, err := ctrUnit(state, "rm", name).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("rm %s: %v: %s", name, err, out)
		}
		return f, nil
	}
	var fromRootfs, fromImage, floor, onLayer []time.Duration
	for i := range runs {
		f, _ := b.floorOnce(1000+i, b.settle, b.rootfs)
		l, err := layerFloor(i)
		if err != nil {
			return err
		}
		onLayer = append(onLayer, l)
		r, err := start(fmt.Sprintf("bench-rootfs-%d", i), append([]string{"--rootfs", rootfs, "--"}, termable...)...)
		if err != nil {
			return err
		}
		m, err := start(fmt.Sprintf("bench-image-%d", i), append([]string{"bb:1"}, termable...)...)
		if err != nil {
			return err
		}
		floor, fromRootfs, fromImage = append(floor, f), append(fromRootfs, r), append(fromImage, m)
	}
	mode := fmt.Sprintf("settled %v", b.settle)
	report("run -d until running, rootfs, "+mode, fromRootfs, floor)
	report("run -d until running, image, "+mode, fromImage, floor)
	report("floor on an image layer, "+mode, onLayer, floor)
	report("image run -d / layer floor, "+mode, fromImage, onLayer)
	// The machine's drift over the run moves both starts of a round
	// alike; their difference, round by round, is the image's own cost.
	extra := make([]time.Duration, len(fromImage))
	for i := range extra {
		extra[i] = fromImage[i] - fromRootfs[i]
	}
	fmt.Printf("%-44s %8s   (median of %d rounds' differences)\n", "image run -d − rootfs run -d, same round", ms(median(extra)), len(extra))
	return nil
}

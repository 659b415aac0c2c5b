// Command pull times pulling a multi-layer image of about 100 MB from a
// local registry: ctr-unit pull, podman pull and skopeo copy, each into a
// fresh store of the same driver, taking turns so that all see the same
// machine. It runs inside a throwaway systemd box whose loopback is its
// own (make bench-pull).
//
//	go run ./bench/pull [-n 5] [-driver overlay]
package main

import (
	"archive/tar"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/buildtags"
	"github.com/ctr-unit/ctr-unit/imagestore/testarchive"
	"github.com/ctr-unit/ctr-unit/testregistry"
)

func main() {
	runs := flag.Int("n", 5, "pulls per tool")
	driver := flag.String("driver", "overlay", "storage driver of every store")
	layerMB := flag.Int("layer-mb", 25, "size of each of the four data layers (MB)")
	flag.Parse()
	if err := run(*runs, *driver, *layerMB); err != nil {
		fmt.Fprintln(os.Stderr, "bench/pull:", err)
		os.Exit(1)
	}
}

// A tool pulls ref into a fresh store: layers under root, run data under
// run.
type tool struct {
	name string
	pull func(root, run, ref string) *exec.Cmd
}

func run(runs int, driver string, layerMB int) error {
	// Stores on disk, as /var/lib/ctr-unit is (the box's /tmp and
	// /var/tmp are memory); run roots in /run, short enough for podman
	// (at most 50 characters).
	work, err := os.MkdirTemp("/var/lib", "ctr-unit-bench-pull-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	runDir, err := os.MkdirTemp("/run", "cbp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(runDir)
	bin := filepath.Join(work, "bin")
	build := exec.Command("go", "build", "-tags", buildtags.Tags(), "-o", bin+"/", "./cmd/ctr-unit", "./cmd/ctr-unit-step", "./cmd/ctr-unit-image")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v: %s", err, out)
	}
	reg, err := testregistry.Start(filepath.Join(work, "registry"), false)
	if err != nil {
		return err
	}
	defer reg.Stop()
	conf := filepath.Join(work, "registries.conf")
	policy := filepath.Join(work, "policy.json")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[[registry]]\nlocation = %q\ninsecure = true\n", reg.Addr)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(policy, []byte(`{"default": [{"type": "insecureAcceptAnything"}]}`), 0o644); err != nil {
		return err
	}
	env := append(os.Environ(), "CONTAINERS_REGISTRIES_CONF="+conf, "CONTAINERS_POLICY_JSON="+policy)

	// The image: busybox and four layers of incompressible data,
	// pushed by ctr-unit.
	ref := reg.Addr + "/bench/big:1"
	total, err := pushImage(work, bin, ref, env, layerMB)
	if err != nil {
		return err
	}
	ctr := filepath.Join(bin, "ctr-unit")
	podman, perr := exec.LookPath("podman")
	skopeo, serr := exec.LookPath("skopeo")
	if perr != nil || serr != nil {
		return fmt.Errorf("podman and skopeo are needed (make bench-deps): %v %v", perr, serr)
	}
	storeOpt := driver + ".skip_mount_home=true"
	tools := []tool{
		// ctr-unit's store is STATE/storage and RUNTIME/storage.
		{"ctr-unit pull", func(root, run, ref string) *exec.Cmd {
			return exec.Command(ctr, "--state-dir", root, "--runtime-dir", run, "--storage-driver", driver, "pull", "-q", ref)
		}},
		{"podman pull", func(root, run, ref string) *exec.Cmd {
			return exec.Command(podman, "--root", root, "--runroot", run, "--storage-driver", driver,
				"--storage-opt", storeOpt, "--events-backend", "none", "pull", "-q", ref)
		}},
		{"skopeo copy", func(root, run, ref string) *exec.Cmd {
			dest := fmt.Sprintf("containers-storage:[%s@%s+%s:%s]%s", driver, root, run, storeOpt, ref)
			// skopeo 1.9 reads no CONTAINERS_REGISTRIES_CONF.
			return exec.Command(skopeo, "copy", "-q", "--src-tls-verify=false", "docker://"+ref, dest)
		}},
	}
	times := make([][]time.Duration, len(tools))
	for range runs {
		for k, tl := range tools {
			// Each pull into a fresh store.
			root, err := os.MkdirTemp(work, "store-")
			if err != nil {
				return err
			}
			run, err := os.MkdirTemp(runDir, "r")
			if err != nil {
				return err
			}
			cmd := tl.pull(root, run, ref)
			cmd.Env = env
			t := time.Now()
			out, err := cmd.CombinedOutput()
			d := time.Since(t)
			if err != nil {
				return fmt.Errorf("%s: %v: %s", tl.name, err, out)
			}
			times[k] = append(times[k], d)
			if err := clean(root, run); err != nil {
				return err
			}
		}
	}
	fmt.Printf("pull of a %d-layer image of %.0f MB from a registry on loopback into a fresh %s store, %d runs each (median, min):\n",
		5, float64(total)/1e6, driver, runs)
	med := make([]time.Duration, len(tools))
	for k, tl := range tools {
		slices.Sort(times[k])
		med[k] = times[k][len(times[k])/2]
		fmt.Printf("  %-14s %8.0f ms %8.0f ms\n", tl.name, ms(med[k]), ms(times[k][0]))
	}
	fmt.Printf("ctr-unit / podman: %.2f   ctr-unit / skopeo: %.2f\n", ms(med[0])/ms(med[1]), ms(med[0])/ms(med[2]))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pushImage makes the image, loads it into a scratch ctr-unit store and
// pushes it; it returns the size of its layers.
func pushImage(work, bin, ref string, env []string, layerMB int) (int64, error) {
	dir := filepath.Join(work, "image")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	layers := []string{filepath.Join(dir, "busybox.tar")}
	if err := testarchive.BusyboxLayer(layers[0]); err != nil {
		return 0, err
	}
	for i := 1; i <= 4; i++ {
		p := filepath.Join(dir, fmt.Sprintf("layer%d.tar", i))
		data := make([]byte, layerMB<<20)
		if _, err := rand.Read(data); err != nil {
			return 0, err
		}
		if err := testarchive.WriteLayer(p, func(tw *tar.Writer) error {
			return testarchive.File(tw, fmt.Sprintf("data%d.bin", i), data, 0o644)
		}); err != nil {
			return 0, err
		}
		layers = append(layers, p)
	}
	var total int64
	for _, l := range layers {
		info, err := os.Stat(l)
		if err != nil {
			return 0, err
		}
		total += info.Size()
	}
	archive := filepath.Join(dir, "big.tar")
	if err := testarchive.WriteOCI(archive, testarchive.Image{Name: "big:1", Layers: layers}); err != nil {
		return 0, err
	}
	ctr := filepath.Join(bin, "ctr-unit")
	scratch := []string{"--state-dir", filepath.Join(work, "push-state"), "--runtime-dir", filepath.Join(work, "push-run")}
	for _, args := range [][]string{{"load", "-q", "-i", archive}, {"push", "-q", "big:1", ref}} {
		cmd := exec.Command(ctr, append(scratch, args...)...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("ctr-unit %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return total, clean(filepath.Join(work, "push-state"), filepath.Join(work, "push-run"))
}

// clean unmounts what a store left mounted below its directories, then
// removes them.
func clean(dirs ...string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		for _, d := range dirs {
			if f[4] == d || strings.HasPrefix(f[4], d+"/") {
				mounts = append(mounts, f[4])
			}
		}
	}
	// Deepest first.
	slices.SortFunc(mounts, func(a, b string) int { return len(b) - len(a) })
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", m, err)
		}
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	return nil
}

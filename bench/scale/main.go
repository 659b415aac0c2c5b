// Command scale measures ctr-unit with hundreds of containers, from boot,
// against podman 4.3 and the floor of bare runc units, in the same run
// (make bench-scale):
//
//	go run ./bench/scale -n 10,100,500
//
// It runs on the host, as root: it boots throwaway systemds with
// hack/sysbox (cgroup v2) whose unit directories persist over their
// boots, and times what must be timed inside a box by running itself
// there ("scale inner ...", see inner.go). Everything it makes lives in
// one directory below /var/lib, removed at the end.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Kinds of container compared.
const (
	kindCtr    = "ctr-unit"
	kindBase   = "ctr-unit-base" // ctr-unit built from -baseline
	kindPodman = "podman"
	kindFloor  = "floor"
)

type config struct {
	work     string // everything below it; visible inside the boxes
	repo     string
	ns       []int
	kinds    []string
	reps     int
	boots    int
	health   int
	window   time.Duration
	baseline string
	box      string
	out      string
	keep     bool
	// podmanMax: podman is booted only up to this N.
	podmanMax int
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "inner" {
		if err := inner(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "scale inner:", err)
			os.Exit(1)
		}
		return
	}
	c := &config{}
	ns := flag.String("n", "10,100,500", "container counts")
	kinds := flag.String("kinds", "ctr-unit,podman,floor", "what to compare (ctr-unit, podman, floor; ctr-unit-base with -baseline)")
	flag.IntVar(&c.reps, "reps", 5, "repetitions of each command (medians)")
	flag.IntVar(&c.boots, "boots", 2, "boots per kind and N: the first makes what the later ones find (records, podman's storage)")
	flag.IntVar(&c.health, "health", 100, "containers with a 30 s healthcheck (0: skip)")
	flag.DurationVar(&c.window, "window", 45*time.Second, "how long the healthchecks are watched")
	flag.StringVar(&c.baseline, "baseline", "", "git revision to build a baseline ctr-unit from: its commands take turns with this one's in the ctr-unit boxes (before/after figures); -kinds ctr-unit-base boots it too")
	flag.StringVar(&c.box, "box", "scale", "prefix of the boxes' names")
	flag.StringVar(&c.out, "out", "", "also write the report (markdown) to this file")
	flag.IntVar(&c.podmanMax, "podman-max", 100, "boot podman only up to this N: its generate systemd --new units take minutes per hundred")
	flag.BoolVar(&c.keep, "keep", false, "boot the first kind with the first N, leave it up and print how to reach it (for profiling)")
	flag.Parse()
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fatal(fmt.Errorf("-n: bad count %q", s))
		}
		c.ns = append(c.ns, n)
	}
	c.kinds = strings.Split(*kinds, ",")
	if contains(c.kinds, kindBase) && c.baseline == "" {
		fatal(fmt.Errorf("-kinds %s needs -baseline", kindBase))
	}
	if err := c.run(); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench-scale:", err)
	os.Exit(1)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *config) run() error {
	t0 := time.Now()
	if os.Getuid() != 0 {
		return fmt.Errorf("must run as root (it boots systemd in namespaces)")
	}
	var err error
	if c.repo, err = filepath.Abs("."); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(c.repo, "hack", "sysbox")); err != nil {
		return fmt.Errorf("run from the repository's top directory: %w", err)
	}
	if c.work, err = os.MkdirTemp("/var/lib", "ctr-unit-scale-"); err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(c.work)
	}
	if err := c.setup(); err != nil {
		return err
	}
	if c.keep {
		return c.keepUp(c.kinds[0], c.ns[0])
	}
	rep := &report{Started: t0, Ns: c.ns, Kinds: c.kinds, Boots: map[string]*bootFigures{}}
	if rep.Machine, err = c.machine(); err != nil {
		return err
	}
	for _, n := range c.ns {
		for _, kind := range c.kinds {
			if kind == kindPodman && n > c.podmanMax {
				rep.NotRun = append(rep.NotRun, fmt.Sprintf("%s, N=%d: over -podman-max %d", kind, n, c.podmanMax))
				continue
			}
			fmt.Fprintf(os.Stderr, "bench-scale: %s, N=%d (%v so far)\n", kind, n, time.Since(t0).Round(time.Second))
			f, err := c.bootRun(kind, n)
			if err != nil {
				// One kind failing at one N is a finding, not the
				// end of the run.
				fmt.Fprintf(os.Stderr, "bench-scale: %s, N=%d: %v\n", kind, n, err)
				rep.NotRun = append(rep.NotRun, fmt.Sprintf("%s, N=%d: %v", kind, n, firstLine(err.Error())))
				continue
			}
			rep.Boots[key(kind, n)] = f
		}
	}
	if c.health > 0 {
		for _, kind := range c.kinds {
			if kind == kindFloor {
				continue
			}
			fmt.Fprintf(os.Stderr, "bench-scale: healthchecks, %s (%v so far)\n", kind, time.Since(t0).Round(time.Second))
			h, err := c.healthRun(kind)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench-scale: healthchecks of %s: %v\n", kind, err)
				rep.NotRun = append(rep.NotRun, fmt.Sprintf("healthchecks of %s: %v", kind, firstLine(err.Error())))
				continue
			}
			rep.Health = append(rep.Health, h)
		}
	}
	rep.Took = time.Since(t0)
	text := rep.markdown()
	fmt.Print(text)
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(text), 0o644); err != nil {
			return err
		}
		raw, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(strings.TrimSuffix(c.out, ".md")+".json", raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// firstLine is s up to its first line break.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func key(kind string, n int) string { return fmt.Sprintf("%s/%d", kind, n) }

// setup builds the binaries, the busybox rootfs, the floor's bundles and
// podman's configuration into the work directory.
func (c *config) setup() error {
	bin := filepath.Join(c.work, "bin")
	if err := c.build(c.repo, bin); err != nil {
		return err
	}
	// This program runs inside the boxes too; go run's copy is in /tmp,
	// which a box does not see.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := copyFile(self, filepath.Join(bin, "scale"), 0o755); err != nil {
		return err
	}
	if c.baseline != "" {
		src := filepath.Join(c.work, "baseline-src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			return err
		}
		sh := fmt.Sprintf("git archive %s | tar -x -C %s", c.baseline, src)
		if out, err := exec.Command("sh", "-c", sh).CombinedOutput(); err != nil {
			return fmt.Errorf("baseline %s: %v: %s", c.baseline, err, out)
		}
		if err := c.build(src, filepath.Join(c.work, "base")); err != nil {
			return err
		}
	}
	if out, err := exec.Command(filepath.Join(c.repo, "hack", "mkrootfs"), c.rootfs()).CombinedOutput(); err != nil {
		return fmt.Errorf("rootfs: %v: %s", err, out)
	}
	if contains(c.kinds, kindPodman) {
		if err := c.podmanSetup(); err != nil {
			return err
		}
	}
	return nil
}

func (c *config) build(src, dir string) error {
	build := exec.Command("go", "build", "-o", dir+"/", "./cmd/ctr-unit", "./cmd/ctr-unit-step")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build in %s: %v: %s", src, err, out)
	}
	return nil
}

func (c *config) rootfs() string { return filepath.Join(c.work, "rootfs") }

func copyFile(from, to string, mode os.FileMode) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, mode)
}

// machine describes the machine and its process start-up costs, measured
// in a box as every other figure.
func (c *config) machine() (machineFigures, error) {
	var m machineFigures
	b := c.newBox("m", "")
	if err := b.up(); err != nil {
		return m, err
	}
	defer b.downOrSay()
	err := b.innerJSON(&m, "machine")
	return m, err
}

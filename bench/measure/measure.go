// Package measure holds what the benchmarks share: medians, the machine's
// process start-up cost, and the CPU time of a command.
package measure

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Median of d; 0 for none.
func Median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// MS formats d in milliseconds.
func MS(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// Run is one command's wall time and the CPU time of its process tree
// (what it and the children it waited for used).
type Run struct {
	Wall, CPU time.Duration
}

// Command runs argv once and measures it; its output is returned with an
// error when it fails.
func Command(argv ...string) (Run, error) {
	var out bytes.Buffer
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdout, c.Stderr = &out, &out
	t0 := time.Now()
	err := c.Run()
	r := Run{Wall: time.Since(t0)}
	if c.ProcessState != nil {
		if u, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.CPU = time.Duration(u.Utime.Nano() + u.Stime.Nano())
		}
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, out.String())
	}
	return r, nil
}

// Repeat runs argv n times and returns the median wall and CPU times. ok
// says which exit is expected: nil for success only.
func Repeat(n int, ok func(error) bool, argv ...string) (Run, error) {
	var wall, cpu []time.Duration
	for range n {
		r, err := Command(argv...)
		if err != nil && (ok == nil || !ok(err)) {
			return Run{}, err
		}
		wall, cpu = append(wall, r.Wall), append(cpu, r.CPU)
	}
	return Run{Wall: Median(wall), CPU: Median(cpu)}, nil
}

// AnyExit accepts any exit status (a usage error is still a start-up).
func AnyExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

// StartupCosts measures what starting a process costs on this machine:
// /bin/true, a Go hello world (built into dir), and the given command
// lines. A figure of ctr-unit means little without them: the same build
// starts in twice the time on a slower machine of the same kind.
func StartupCosts(dir string, runs int, named [][2]string) ([]string, error) {
	hello := filepath.Join(dir, "hello")
	if _, err := os.Stat(hello); err != nil {
		src := filepath.Join(dir, "hello.go")
		if err := os.WriteFile(src, []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello\\n\") }\n"), 0o644); err != nil {
			return nil, err
		}
		build := exec.Command("go", "build", "-o", hello, src)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build hello: %v: %s", err, out)
		}
	}
	all := append([][2]string{{"/bin/true", "/bin/true"}, {"Go hello world", hello}}, named...)
	var lines []string
	for _, nc := range all {
		r, err := Repeat(runs, AnyExit, strings.Fields(nc[1])...)
		if err != nil {
			return nil, err
		}
		lines = append(lines, fmt.Sprintf("%s %s wall, %s CPU", nc[0], MS(r.Wall), MS(r.CPU)))
	}
	return lines, nil
}

// PSS is a process's proportional set size in KiB (0 if it is gone).
func PSS(pid int) int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// Comm is a process's command name ("" if it is gone).
func Comm(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(data))
}

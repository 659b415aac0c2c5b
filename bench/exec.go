package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// cost is what one command took: wall time, and the CPU time of it and
// of every process it started, its orphans included (the bench is their
// subreaper: podman's conmon double-forks).
type cost struct{ wall, cpu time.Duration }

func cpuOf(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs argv and returns its cost.
func measure(argv []string) (cost, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	t := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(t)
	if err != nil {
		return cost{}, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
	c := cost{wall: wall, cpu: cpuOf(cmd.ProcessState.SysUsage().(*syscall.Rusage))}
	// Orphans left to the bench (conmon): wait for them, counting their
	// CPU too.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		var ws unix.WaitStatus
		var ru unix.Rusage
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, &ru)
		if errors.Is(err, unix.ECHILD) {
			break
		}
		if pid > 0 {
			c.cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			continue
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c, nil
}

// execFigures times `exec NAME true` in a running container: ctr-unit's,
// bare runc exec on the same container (the floor), and podman exec
// (Debian's podman 4.3, installed here if missing) in a container of its
// own from the same root, taking turns so all see the same machine.
func (b *bench) execFigures() {
	must(unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	name := "bench-exec"
	must(b.ctr(append([]string{"run", "-d", "--name", name, "--rootfs", b.rootfs, "--"}, termable...)...))
	defer b.ctr("rm", "-f", name)
	ctrExec := append([]string{b.binary, "--state-dir", filepath.Join(b.dir, "state"), "--runtime-dir", filepath.Join(b.runDir, "run")}, "exec", name, "true")
	runcExec := []string{b.runc, "--root", filepath.Join(b.runDir, "run", "runc", name), "exec", name, "true"}

	podman, err := ensurePodman()
	var podmanExec []string
	if err != nil {
		fmt.Println("exec: podman not measured:", err)
	} else {
		proot, prun := filepath.Join(b.dir, "podman"), filepath.Join(b.runDir, "podman")
		base := []string{podman, "--root", proot, "--runroot", prun, "--runtime", b.runc, "--events-backend", "none", "--cgroup-manager", "systemd"}
		run := append(append(append([]string{}, base...), "run", "-d", "--name", name, "--network", "host", "--pids-limit", "-1", "--rootfs", b.rootfs), termable...)
		if out, err := exec.Command(run[0], run[1:]...).CombinedOutput(); err != nil {
			fmt.Printf("exec: podman not measured: podman run: %v: %s\n", err, out)
		} else {
			podmanExec = append(append([]string{}, base...), "exec", name, "true")
			defer func() {
				rm := append(append([]string{}, base...), "rm", "-f", "-t", "0", name)
				exec.Command(rm[0], rm[1:]...).Run()
				// conmon runs podman's cleanup of the container after
				// rm has returned, which opens the storage (and makes
				// and mounts its overlay home) again.
				waitUnused(proot, 10*time.Second)
				// podman's overlay driver keeps its home mounted
				// when a command of it ends without cleaning up:
				// the directory would outlive the box.
				syscall.Unmount(filepath.Join(proot, "overlay"), syscall.MNT_DETACH)
				os.RemoveAll(proot)
				os.RemoveAll(prun)
			}()
		}
	}
	var ctrC, runcC, podC []cost
	for range b.runs {
		c, err := measure(runcExec)
		must(err)
		runcC = append(runcC, c)
		c, err = measure(ctrExec)
		must(err)
		ctrC = append(ctrC, c)
		if podmanExec != nil {
			c, err = measure(podmanExec)
			must(err)
			podC = append(podC, c)
		}
	}
	line := func(what string, cs []cost) {
		var wall, cpu []time.Duration
		for _, c := range cs {
			wall, cpu = append(wall, c.wall), append(cpu, c.cpu)
		}
		fmt.Printf("%-30s wall %8s   cpu %8s   (x%.2f, x%.2f of runc exec)\n", what, ms(median(wall)), ms(median(cpu)),
			float64(median(wall))/float64(medianWall(runcC)), float64(median(cpu))/float64(medianCPU(runcC)))
	}
	fmt.Printf("exec NAME true, %d runs, medians:\n", b.runs)
	line("runc exec (floor)", runcC)
	line("ctr-unit exec", ctrC)
	if podC != nil {
		line("podman exec (4.3)", podC)
	}
}

func medianWall(cs []cost) time.Duration {
	var d []time.Duration
	for _, c := range cs {
		d = append(d, c.wall)
	}
	return median(d)
}

func medianCPU(cs []cost) time.Duration {
	var d []time.Duration
	for _, c := range cs {
		d = append(d, c.cpu)
	}
	return median(d)
}

// ensurePodman finds podman, installing Debian's package if it is missing.
func ensurePodman() (string, error) {
	if p, err := exec.LookPath("podman"); err == nil {
		return p, nil
	}
	install := exec.Command("sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman")
	if out, err := install.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get install podman: %v: %s", err, out)
	}
	return exec.LookPath("podman")
}

// waitUnused waits, up to timeout, until no process has path in its
// command line.
func waitUnused(path string, timeout time.Duration) {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		used := false
		for _, p := range procs {
			if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), path) {
				used = true
				break
			}
		}
		if !used {
			return
		}
	}
}

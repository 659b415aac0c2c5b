//go:build integration

package integration

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// counter writes an increasing number to /tmp/n every 100 ms.
const counter = `trap "exit 0" TERM; i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done`

// readCounter reads the counter through the container's init's root.
func readCounter(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "root/tmp/n"))
	if err != nil {
		return -1
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return n
}

func TestPauseFreezesAndUnpauseResumes(t *testing.T) {
	e := newEnv(t)
	name := e.name("count")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", counter)
	c := e.inspect(name)
	e.waitFor("the counter to start", 5*time.Second, func() bool { return readCounter(t, c.State.Pid) > 2 })

	e.must("pause", name)
	if st := e.inspect(name).State; st.Status != "paused" || !st.Paused {
		t.Fatalf("after pause: %+v", st)
	}
	if ps := e.must("ps", "--format", "{{.State.Status}}"); strings.TrimSpace(ps) != "paused" {
		t.Errorf("ps shows %q, want paused", ps)
	}
	if layout == "v2" {
		if got := unitProperty(t, c.Unit, "FreezerState"); got != "frozen" {
			t.Errorf("systemd's FreezerState = %s, want frozen (v2 pauses through systemd)", got)
		}
	}
	frozenAt := readCounter(t, c.State.Pid)
	time.Sleep(500 * time.Millisecond)
	if now := readCounter(t, c.State.Pid); now != frozenAt {
		t.Fatalf("counter moved from %d to %d while paused", frozenAt, now)
	}
	if stderr := e.fails("pause", name); !strings.Contains(stderr, "already paused") {
		t.Errorf("second pause: %q", stderr)
	}
	// A signal that ended it would leave systemd running the stop step in
	// a frozen unit, where it hangs: refused, as docker does.
	if stderr := e.fails("kill", "-s", "KILL", name); !strings.Contains(stderr, "is paused; unpause it first") {
		t.Errorf("kill of a paused container: %q", stderr)
	}
	if st := e.inspect(name).State; st.Status != "paused" {
		t.Errorf("after a refused kill: %+v, want paused", st)
	}

	e.must("unpause", name)
	e.waitFor("the counter to move again", 5*time.Second, func() bool { return readCounter(t, c.State.Pid) > frozenAt+2 })
	if st := e.inspect(name).State; st.Status != "running" || st.Paused {
		t.Errorf("after unpause: %+v", st)
	}
	if layout == "v2" {
		if got := unitProperty(t, c.Unit, "FreezerState"); got != "running" {
			t.Errorf("systemd's FreezerState = %s after unpause", got)
		}
	}
	if stderr := e.fails("unpause", name); !strings.Contains(stderr, "not paused") {
		t.Errorf("unpause of a running container: %q", stderr)
	}
}

func TestPauseAndUnpauseRefuseContainersNotRunning(t *testing.T) {
	e := newEnv(t)
	name := e.name("idle")
	e.must("create", "--name", name, "--rootfs", rootfs, "--", "sleep", "1000")
	if stderr := e.fails("pause", name); !strings.Contains(stderr, name+" is created; only a running container can be paused") {
		t.Errorf("pause of a created container: %q", stderr)
	}
	if stderr := e.fails("unpause", name); !strings.Contains(stderr, "not paused") {
		t.Errorf("unpause of a created container: %q", stderr)
	}
}

func TestStopOfAPausedContainerThawsFirst(t *testing.T) {
	e := newEnv(t)
	name := e.name("pstop")
	// A stop timeout far beyond the test's bound: a stop that waited for
	// it (frozen processes cannot act on SIGTERM) would be caught.
	e.must("run", "-d", "--name", name, "--stop-timeout", "60", "--rootfs", rootfs, "--", "sh", "-c", termable)
	e.must("pause", name)
	start := time.Now()
	e.must("stop", name)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("stop of a paused container took %v: it was not thawed first", took)
	}
	if c := e.inspect(name); c.State.Status != "exited" || c.State.ExitCode != 0 {
		t.Errorf("after stop: %+v, want exited 0 (the init's own SIGTERM handler ran)", c.State)
	}
}

func TestKillAllLeavesNothing(t *testing.T) {
	e := newEnv(t)
	name := e.name("fam")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", "sleep 1000 & sleep 1000 & sleep 1000 & wait")
	c := e.inspect(name)
	cgroup := unitProperty(t, c.Unit, "ControlGroup")
	// The shell forks its three sleeps after run returns.
	var pids []int
	e.waitFor("the shell and its three sleeps", 10*time.Second, func() bool {
		pids = cgroupPids(t, cgroup)
		return len(pids) == 4
	})
	e.must("kill", "--all", "-s", "KILL", name)
	e.waitStatus(name, "exited", 10*time.Second)
	for _, p := range pids {
		if pidAlive(p) {
			t.Errorf("pid %d survived kill --all", p)
		}
	}
}

// cgroupDirs lists every cgroup directory of ctr-unit's units below the
// box's cgroup root, in every hierarchy.
func cgroupDirs(t *testing.T) []string {
	var dirs []string
	filepath.WalkDir("/sys/fs/cgroup", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && strings.Contains(p, "/ctr-") {
			dirs = append(dirs, p)
		}
		return nil
	})
	return dirs
}

func TestNoCgroupsLeakOverStartStopCycles(t *testing.T) {
	e := newEnv(t)
	name := e.name("cycle")
	before := cgroupDirs(t)
	e.must("create", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	for i := 0; i < 20; i++ {
		e.must("start", name)
		switch i % 3 {
		case 1:
			e.must("pause", name)
			e.must("stop", name)
		case 2:
			// Cut short: must still leave runc's state clean for the
			// next start.
			e.must("stop", "-t", "0", name)
		default:
			e.must("stop", name)
		}
	}
	if after := cgroupDirs(t); !slices.Equal(before, after) {
		t.Errorf("cgroup directories left after 20 start/stop cycles:\n%s", strings.Join(after, "\n"))
	}
}

type statsRow struct {
	Name       string
	CPUSeconds float64
	MemUsage   uint64
	MemLimit   uint64
	PIDs       uint64
}

func TestStatsArePlausible(t *testing.T) {
	e := newEnv(t)
	busy, idle := e.name("busy"), e.name("idle")
	args := []string{"run", "-d", "--name", busy, "--rootfs", rootfs}
	if layout == "hybrid" {
		args = append(args, "--memory", "64m", "--pids-limit", "50")
	}
	e.must(append(args, "--", "sh", "-c", "while :; do :; done")...)
	e.must("run", "-d", "--name", idle, "--rootfs", rootfs, "--", "sleep", "1000")
	time.Sleep(700 * time.Millisecond)
	var rows []statsRow
	if err := json.Unmarshal([]byte(e.must("stats", "--no-stream", "--format", "json", busy, idle)), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("stats: %v %v", rows, err)
	}
	if rows[0].CPUSeconds < 0.2 || rows[0].CPUSeconds > 5 {
		t.Errorf("busy container used %.2f s of CPU in ~0.7 s", rows[0].CPUSeconds)
	}
	if rows[1].CPUSeconds > rows[0].CPUSeconds/4 {
		t.Errorf("idle container used %.2f s of CPU, busy %.2f s", rows[1].CPUSeconds, rows[0].CPUSeconds)
	}
	if layout == "hybrid" {
		if rows[0].MemUsage == 0 || rows[0].MemUsage > 64<<20 || rows[0].MemLimit != 64<<20 {
			t.Errorf("memory %d of limit %d, want some of 64 MiB", rows[0].MemUsage, rows[0].MemLimit)
		}
		if rows[0].PIDs < 1 || rows[0].PIDs > 5 {
			t.Errorf("pids %d", rows[0].PIDs)
		}
		unit := e.inspect(busy).Unit
		if got := unitProperty(t, unit, "MemoryMax"); got != strconv.Itoa(64<<20) {
			t.Errorf("unit MemoryMax = %s", got)
		}
		if got := unitProperty(t, unit, "TasksMax"); got != "50" {
			t.Errorf("unit TasksMax = %s", got)
		}
	}
}

// In the v2 box the host keeps every controller on v1: limits cannot be
// enforced there, and ctr-unit says so instead of ignoring the flag.
func TestLimitsWithoutControllersAreRefused(t *testing.T) {
	if layout != "v2" {
		t.Skip("the hybrid box has the controllers")
	}
	e := newEnv(t)
	name := e.name("lim")
	stderr := e.fails("run", "-d", "--name", name, "--memory", "64m", "--pids-limit", "10", "--rootfs", rootfs, "--", "true")
	for _, want := range []string{"--memory needs the memory cgroup controller", "--pids-limit needs the pids cgroup controller"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not say %q", stderr, want)
		}
	}
	if out := e.must("ps", "-a", "--format", "{{.Name}}"); strings.Contains(out, name) {
		t.Errorf("a refused container was stored")
	}
	if stderr := e.fails("run", "-d", "--name", name, "--memory", "lots", "--rootfs", rootfs, "--", "true"); !strings.Contains(stderr, "512m") {
		t.Errorf("bad --memory: %q", stderr)
	}
}

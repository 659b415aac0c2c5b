package cgroupmgr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// Tests against real cgroups of this host; each skips without root or
// without the hierarchy it needs.

var layouts = []struct {
	name       string
	newFixture func(testing.TB) *fixture
}{
	{"v1", newV1Fixture},
	{"v2", newV2Fixture},
}

func timeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestFreezeThawStopsProgress(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			f := l.newFixture(t)
			cmd, read := f.counter(t)
			ctx := timeout(t, 10*time.Second)

			start := time.Now()
			if err := f.m.Freeze(ctx, f.path); err != nil {
				t.Fatal(err)
			}
			t.Logf("freeze of a busy loop took %v", time.Since(start))
			if frozen, err := f.m.Frozen(f.path); err != nil || !frozen {
				t.Fatalf("Frozen = %v, %v; want true", frozen, err)
			}
			t.Logf("process state while frozen: %s", procState(cmd.Process.Pid))
			before := read()
			time.Sleep(200 * time.Millisecond)
			if after := read(); after != before {
				t.Fatalf("counter advanced while frozen: %s -> %s", before, after)
			}

			if err := f.m.Thaw(ctx, f.path); err != nil {
				t.Fatal(err)
			}
			if frozen, err := f.m.Frozen(f.path); err != nil || frozen {
				t.Fatalf("Frozen = %v, %v after Thaw; want false", frozen, err)
			}
			deadline := time.Now().Add(2 * time.Second)
			for read() == before {
				if time.Now().After(deadline) {
					t.Fatalf("counter stuck at %s after Thaw", before)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

func TestKillAllForkingTree(t *testing.T) {
	for _, l := range layouts {
		for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
			t.Run(l.name+"/"+sig.String(), func(t *testing.T) {
				f := l.newFixture(t)
				f.start(t, "", "sleep 1000 & sleep 1000 & wait")
				f.waitProcs(t, 3)
				if err := f.m.KillAll(timeout(t, 10*time.Second), f.path, sig); err != nil {
					t.Fatal(err)
				}
				assertEmpty(t, f)
			})
		}
	}
}

// A shell forking as fast as it can while being killed: the v1 sweep
// must freeze to keep up, v2 relies on cgroup.kill.
func TestKillAllWhileForking(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			f := l.newFixture(t)
			if dir, ok := f.dirs["pids"]; ok {
				if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte("200"), 0); err != nil {
					t.Fatal(err)
				}
			}
			f.start(t, "", "i=0; while [ $i -lt 500 ]; do sleep 1000 & i=$((i+1)); done; wait")
			f.waitProcs(t, 20)
			start := time.Now()
			if err := f.m.KillAll(timeout(t, 10*time.Second), f.path, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			t.Logf("KillAll of a forking tree took %v", time.Since(start))
			assertEmpty(t, f)
		})
	}
}

// On v1 a process may be in the container's name=systemd cgroup but not
// in its freezer one; Processes and KillAll must still see it.
func TestV1ProcessesIsUnionOverHierarchies(t *testing.T) {
	f := newV1Fixture(t)
	cmd := f.start(t, "", "sleep 1000", "systemd")
	pids := f.waitProcs(t, 1)
	if !slices.Contains(pids, cmd.Process.Pid) {
		t.Fatalf("Processes = %v, want it to contain %d", pids, cmd.Process.Pid)
	}
	if err := f.m.KillAll(timeout(t, 10*time.Second), f.path, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, f)
}

func assertEmpty(t *testing.T, f *fixture) {
	t.Helper()
	pids, err := f.m.Processes(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) != 0 {
		t.Fatalf("processes left after KillAll: %v", pids)
	}
}

func TestStatsOfBusyLoop(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			f := l.newFixture(t)
			const limit = 256 << 20
			if dir, ok := f.dirs["memory"]; ok {
				if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte("268435456"), 0); err != nil {
					t.Fatal(err)
				}
			}
			f.start(t, "", "while :; do :; done")
			f.waitProcs(t, 1)
			// The loop's CPU time shows in the stats; how soon depends on
			// what else the machine runs, so wait for it (bounded).
			var st Stats
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				var err error
				if st, err = f.m.Stats(f.path); err != nil {
					t.Fatal(err)
				}
				if st.HasCPU && st.CPUNanos >= uint64(100*time.Millisecond) || time.Now().After(deadline) {
					break
				}
			}
			t.Logf("stats: %+v", st)
			if !st.HasCPU || st.CPUNanos < uint64(100*time.Millisecond) {
				t.Errorf("CPU: has=%v %v, want at least 100ms of the busy loop's", st.HasCPU, time.Duration(st.CPUNanos))
			}
			_, hasMemoryDir := f.dirs["memory"]
			if l.name == "v2" {
				hasMemoryDir = f.m.Available("memory")
			}
			if st.HasMemory != hasMemoryDir {
				t.Errorf("HasMemory = %v, want %v", st.HasMemory, hasMemoryDir)
			}
			if st.HasMemory && (st.MemoryBytes == 0 || st.MemoryBytes > 1<<30) {
				t.Errorf("memory %d bytes is implausible for a shell loop", st.MemoryBytes)
			}
			if _, ok := f.dirs["memory"]; ok && l.name == "v1" && st.MemoryLimit != limit {
				t.Errorf("MemoryLimit = %d, want %d", st.MemoryLimit, limit)
			}
			if st.HasPids && st.Pids < 1 {
				t.Errorf("Pids = %d, want at least 1", st.Pids)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			f := l.newFixture(t)
			f.mkChild(t, "a/b")
			f.start(t, "a/b", "sleep 1000")
			f.waitProcs(t, 1)

			if err := f.m.Remove(f.path); !errors.Is(err, ErrBusy) {
				t.Fatalf("Remove with a process inside: err = %v, want ErrBusy", err)
			}
			for h, dir := range f.dirs {
				if _, err := os.Stat(filepath.Join(dir, "a/b")); err != nil {
					t.Fatalf("%s: failed Remove removed something: %v", h, err)
				}
			}

			if err := f.m.KillAll(timeout(t, 10*time.Second), f.path, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if err := f.m.Remove(f.path); err != nil {
				t.Fatal(err)
			}
			for h, dir := range f.dirs {
				if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s: %s still there (%v)", h, dir, err)
				}
			}
			if err := f.m.Remove(f.path); err != nil {
				t.Errorf("Remove of a removed cgroup: %v, want nil", err)
			}

			ctx := timeout(t, time.Second)
			for name, err := range map[string]error{
				"Processes": second(f.m.Processes(f.path)),
				"Stats":     second(f.m.Stats(f.path)),
				"Freeze":    f.m.Freeze(ctx, f.path),
				"KillAll":   f.m.KillAll(ctx, f.path, syscall.SIGKILL),
			} {
				if !errors.Is(err, ErrNoCgroup) {
					t.Errorf("%s after Remove: err = %v, want ErrNoCgroup", name, err)
				}
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func TestAvailable(t *testing.T) {
	f := newV1Fixture(t)
	for c, want := range map[string]bool{"freezer": true, "memory": true, "cpu": true, "pids": true, "cpuset": false, "bogus": false} {
		if got := f.m.Available(c); got != want {
			t.Errorf("v1 fixture: Available(%q) = %v, want %v", c, got, want)
		}
	}
	host := New(Detect())
	for _, c := range []string{"memory", "cpu", "pids", "freezer"} {
		t.Logf("host (%v): Available(%q) = %v", host.Mode(), c, host.Available(c))
	}
}

func TestRejectsRootAndRelativePaths(t *testing.T) {
	m := New(Hybrid)
	for _, p := range []string{"/", "", "x/y", "/a/../.."} {
		if err := m.KillAll(context.Background(), p, syscall.SIGKILL); err == nil {
			t.Errorf("KillAll(%q) succeeded", p)
		}
		if _, err := m.Processes(p); err == nil {
			t.Errorf("Processes(%q) succeeded", p)
		}
		if err := m.Remove(p); err == nil {
			t.Errorf("Remove(%q) succeeded", p)
		}
	}
}

// Prune removes a cgroup only where it is empty, the way a unit's own
// cgroup must be treated while systemd still runs the unit's stop step in
// some hierarchies.
func TestPruneLeavesBusyHierarchies(t *testing.T) {
	f := newV1Fixture(t)
	f.mkChild(t, "unit")
	// A process in the unit's cgroup of one hierarchy only.
	f.start(t, "unit", "sleep 1000", "pids")
	f.waitProcs(t, 1)
	if err := f.m.Prune(f.path + "/unit"); err != nil {
		t.Fatal(err)
	}
	for h, dir := range f.dirs {
		_, err := os.Stat(filepath.Join(dir, "unit"))
		if h == "pids" && err != nil {
			t.Errorf("pids: the busy cgroup was removed: %v", err)
		}
		if h != "pids" && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the empty cgroup is still there (%v)", h, err)
		}
	}
	if err := f.m.Prune("/"); err == nil {
		t.Error("Prune of the root cgroup was accepted")
	}
}

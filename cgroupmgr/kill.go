package cgroupmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// freezeForKillTimeout bounds the freeze that stops forks during a v1
// SIGKILL sweep. A task stuck in uninterruptible sleep can keep a v1
// cgroup FREEZING forever; then we kill without the freeze.
const freezeForKillTimeout = 200 * time.Millisecond

// KillAll signals every process in the cgroup subtree and waits until
// none is left or ctx ends. Each process is signalled once, so a SIGTERM
// sweep that the container ignores ends with ctx's error; escalate to
// SIGKILL then. Signals other than SIGKILL reach a frozen cgroup only
// once it is thawed: Thaw a paused container first.
//
// On v2 SIGKILL goes through cgroup.kill, which the kernel applies
// atomically, forks included. Otherwise processes are listed and
// signalled one by one, repeatedly, to catch children forked meanwhile;
// for SIGKILL on v1 each sweep runs with the cgroup frozen so nothing can
// fork between listing and killing, then thaws it so the kill lands.
func (m *Manager) KillAll(ctx context.Context, path string, sig syscall.Signal) error {
	if _, err := m.existingDirs(path); err != nil {
		return err
	}
	var err error
	if m.mode == Unified && sig == syscall.SIGKILL {
		err = m.killV2(ctx, path)
	} else {
		err = m.signalEach(ctx, path, sig)
	}
	if err != nil {
		return fmt.Errorf("kill %s with %v: %w", path, sig, err)
	}
	return nil
}

// remaining returns the cgroup's processes; a cgroup removed meanwhile
// counts as empty.
func (m *Manager) remaining(path string) ([]int, error) {
	pids, err := m.Processes(path)
	if errors.Is(err, ErrNoCgroup) {
		return nil, nil
	}
	return pids, err
}

// killV2 writes cgroup.kill itself: containerd's cgroup2 package would do
// the same write, but linking it brings protobuf, ebpf and logrus into the
// unit's lean stop step, which pays for their init at every stop.
func (m *Manager) killV2(ctx context.Context, path string) error {
	clean, err := cleanPath(path)
	if err != nil {
		return err
	}
	killFile := filepath.Join(m.root, clean, "cgroup.kill")
	return pollUntil(ctx, func() (bool, error) {
		pids, err := m.remaining(path)
		if err != nil || len(pids) == 0 {
			return err == nil, err
		}
		// Repeating the write is cheap and covers a kernel that let a
		// racing fork through.
		return false, os.WriteFile(killFile, []byte("1"), 0)
	})
}

func (m *Manager) signalEach(ctx context.Context, path string, sig syscall.Signal) error {
	freeze := sig == syscall.SIGKILL && m.mode != Unified
	signalled := map[int]bool{}
	return pollUntil(ctx, func() (bool, error) {
		pids, err := m.remaining(path)
		if err != nil || len(pids) == 0 {
			return err == nil, err
		}
		if !hasNew(pids, signalled) {
			return false, nil // wait for the signalled ones to exit
		}
		if freeze {
			return false, m.frozenSweep(ctx, path, sig, signalled)
		}
		return false, signalNew(pids, sig, signalled)
	})
}

// frozenSweep freezes the cgroup, signals what is in it, and thaws it.
// If freezing is impossible or too slow the sweep runs unfrozen.
func (m *Manager) frozenSweep(ctx context.Context, path string, sig syscall.Signal, signalled map[int]bool) error {
	fctx, cancel := context.WithTimeout(ctx, freezeForKillTimeout)
	frozen := m.Freeze(fctx, path) == nil
	cancel()
	pids, err := m.remaining(path)
	if err == nil {
		err = signalNew(pids, sig, signalled)
	}
	if frozen {
		// Thaw even if ctx has ended: a frozen cgroup with pending
		// SIGKILLs would otherwise stay around forever.
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		err = errors.Join(err, m.Thaw(tctx, path))
	}
	return err
}

func hasNew(pids []int, signalled map[int]bool) bool {
	for _, pid := range pids {
		if !signalled[pid] {
			return true
		}
	}
	return false
}

func signalNew(pids []int, sig syscall.Signal, signalled map[int]bool) error {
	for _, pid := range pids {
		if signalled[pid] {
			continue
		}
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal pid %d: %w", pid, err)
		}
		signalled[pid] = true
	}
	return nil
}

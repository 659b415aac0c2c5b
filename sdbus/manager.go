package sdbus

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrSystemdStuck means systemd cannot answer at all: its process is
// stopped or frozen. A systemd that is merely busy answers late, and is
// waited for up to CallTimeout.
var ErrSystemdStuck = errors.New("systemd cannot answer")

// managerState is what the kernel says of systemd's process, PID 1: its
// scheduler state and the cgroup that holds it frozen, if any.
type managerState struct {
	// state is the letter of /proc/1/stat: 'T' stopped, 't' traced.
	state byte
	// frozen is the freezer file that holds it frozen ("" if none), and
	// thaw what written to it thaws it.
	frozen, thaw string
}

// stuck decides from what the kernel says whether systemd can answer.
func (m managerState) stuck() error {
	switch {
	case m.frozen != "":
		return fmt.Errorf("%w: its process (PID 1) is frozen by %s; thaw it (echo %s > %s) and run the command again", ErrSystemdStuck, m.frozen, m.thaw, m.frozen)
	case m.state == 'T' || m.state == 't':
		return fmt.Errorf("%w: its process (PID 1) is stopped; resume it (kill -CONT 1) and run the command again", ErrSystemdStuck)
	}
	return nil
}

// readManagerState reads systemd's state under proc and the cgroup file
// systems under cgroupRoot (v2 at its top or, in the hybrid layout, at
// unified/; v1's freezer at freezer/). What cannot be read says nothing.
func readManagerState(proc, cgroupRoot string) managerState {
	var m managerState
	if stat, err := os.ReadFile(filepath.Join(proc, "1", "stat")); err == nil {
		// The name, in parentheses, may hold spaces and parentheses.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
			m.state = stat[i+2]
		}
	}
	cg, err := os.ReadFile(filepath.Join(proc, "1", "cgroup"))
	if err != nil {
		return m
	}
	sc := bufio.NewScanner(bytes.NewReader(cg))
	for sc.Scan() {
		// hierarchy-ID:controller-list:path
		f := strings.SplitN(sc.Text(), ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case f[0] == "0" && f[1] == "":
			for _, top := range []string{cgroupRoot, filepath.Join(cgroupRoot, "unified")} {
				events := filepath.Join(top, f[2], "cgroup.events")
				if b, err := os.ReadFile(events); err == nil {
					if bytes.Contains(b, []byte("\nfrozen 1")) || bytes.HasPrefix(b, []byte("frozen 1")) {
						m.frozen, m.thaw = frozenAt(top, f[2], "cgroup.freeze"), "0"
						return m
					}
					break
				}
			}
		case strings.Contains(","+f[1]+",", ",freezer,"):
			p := filepath.Join(cgroupRoot, "freezer", f[2], "freezer.state")
			if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) != "THAWED" {
				m.frozen, m.thaw = p, "THAWED"
				return m
			}
		}
	}
	return m
}

// frozenAt names the freezer file to write: that of the cgroup frozen
// itself, which may be an ancestor of the one holding systemd.
func frozenAt(top, path, file string) string {
	for p := path; ; p = filepath.Dir(p) {
		if b, err := os.ReadFile(filepath.Join(top, p, file)); err == nil && strings.TrimSpace(string(b)) == "1" {
			return filepath.Join(top, p, file)
		}
		if p == "/" || p == "." {
			return filepath.Join(top, path, file)
		}
	}
}

// systemdStuck says whether systemd, on this machine, cannot answer.
func systemdStuck() error { return readManagerState("/proc", "/sys/fs/cgroup").stuck() }

// probeEvery is how often a call still unanswered looks whether systemd
// can answer at all: often enough that a command on a stopped or frozen
// systemd fails at once, and a few file reads each time.
const probeEvery = 500 * time.Millisecond

// bounded gives a call its context: ended by CallTimeout unless ctx has a
// deadline of its own, and with ErrSystemdStuck as its cause as soon as
// systemd is seen stopped or frozen while the call waits.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	endTimeout := func() {}
	if _, ok := ctx.Deadline(); !ok {
		ctx, endTimeout = context.WithTimeout(ctx, CallTimeout)
	}
	ctx, endWatch := watch(ctx)
	return ctx, func() { endWatch(); endTimeout() }
}

// watch ends ctx with ErrSystemdStuck once systemd is seen stuck.
func watch(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	go func() {
		tick := time.NewTicker(probeEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := systemdStuck(); err != nil {
					cancel(err)
					return
				}
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// stuckCause is the error of a call its watch ended: ErrSystemdStuck's
// explanation in place of "context canceled".
func stuckCause(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrSystemdStuck) {
		return cause
	}
	return err
}

package cgroupmgr

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ctr-unit/ctr-unit/smallfile"
)

// The wait loops here are ours rather than containerd/cgroups': its v1
// Freeze polls forever with no way to give up, and its v2 Freeze returns
// once cgroup.freeze reads back "1", before the tasks are actually frozen.

// freezer is the file set that freezes one cgroup.
type freezer struct {
	dir, path string
	v2        bool
}

// freezerFor picks the freezer for path (freezerAt) and checks that the
// cgroup exists: ErrNoCgroup if not.
func (m *Manager) freezerFor(path string) (freezer, error) {
	f, err := m.freezerAt(path)
	if err != nil {
		return freezer{}, err
	}
	if _, err := os.Stat(f.dir); err != nil {
		return freezer{}, noCgroup(f, err)
	}
	return f, nil
}

// freezerAt picks the freezer for path: cgroup.freeze on v2; on v1 and
// hybrid the v1 freezer hierarchy (where runc puts the container), or in
// hybrid without it the unified mount's cgroup.freeze.
func (m *Manager) freezerAt(path string) (freezer, error) {
	clean, err := cleanPath(path)
	if err != nil {
		return freezer{}, err
	}
	switch {
	case m.mode == Unified:
		return freezer{dir: filepath.Join(m.root, clean), path: clean, v2: true}, nil
	case (m.mode == Hybrid || m.mode == Legacy) && isHierarchy(filepath.Join(m.root, "freezer")):
		return freezer{dir: filepath.Join(m.root, "freezer", clean), path: clean}, nil
	case m.mode == Hybrid && isHierarchy(filepath.Join(m.root, "unified")):
		return freezer{dir: filepath.Join(m.root, "unified", clean), path: clean, v2: true}, nil
	}
	return freezer{}, fmt.Errorf("freezer for %s in %s layout: %w", clean, m.mode, ErrNotSupported)
}

// noCgroup is ErrNoCgroup for a freezer whose files are not there.
func noCgroup(f freezer, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("freezer for %s: %w", f.path, ErrNoCgroup)
	}
	return err
}

func (f freezer) request(frozen bool) error {
	file, val := "freezer.state", "THAWED"
	if f.v2 {
		file, val = "cgroup.freeze", "0"
		if frozen {
			val = "1"
		}
	} else if frozen {
		val = "FROZEN"
	}
	if err := os.WriteFile(filepath.Join(f.dir, file), []byte(val), 0); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}

func (f freezer) state() (string, error) {
	if !f.v2 {
		data, err := smallfile.Read(filepath.Join(f.dir, "freezer.state"))
		if err != nil {
			return "", err
		}
		return parseV1FreezerState(string(data))
	}
	freeze, err := smallfile.Read(filepath.Join(f.dir, "cgroup.freeze"))
	if err != nil {
		return "", err
	}
	events, err := smallfile.Read(filepath.Join(f.dir, "cgroup.events"))
	if err != nil {
		return "", err
	}
	return v2FreezerState(string(freeze), string(events)), nil
}

func (f freezer) frozen() (bool, error) {
	if !f.v2 {
		s, err := f.state()
		return s == "frozen", err
	}
	events, err := smallfile.Read(filepath.Join(f.dir, "cgroup.events"))
	if err != nil {
		return false, err
	}
	return v2Frozen(string(events)), nil
}

// set requests a state and waits until the kernel reports it.
func (f freezer) set(ctx context.Context, frozen bool) error {
	want := "thawed"
	if frozen {
		want = "frozen"
	}
	if err := f.request(frozen); err != nil {
		return err
	}
	return pollUntil(ctx, func() (bool, error) {
		got, err := f.state()
		if err != nil || got == want {
			return got == want, err
		}
		// The v1 freezer gives up on tasks it could not freeze at the
		// time of the write (e.g. in uninterruptible sleep) until the
		// state is written again.
		if !f.v2 {
			return false, f.request(frozen)
		}
		return false, nil
	})
}

// Freeze stops every process in the cgroup subtree and returns once the
// kernel reports the cgroup frozen. If ctx ends first the cgroup is
// thawed again rather than left half-frozen.
func (m *Manager) Freeze(ctx context.Context, path string) error {
	f, err := m.freezerFor(path)
	if err != nil {
		return err
	}
	if err := f.set(ctx, true); err != nil {
		_ = f.request(false)
		return fmt.Errorf("freeze %s: %w", path, err)
	}
	return nil
}

// Thaw resumes the cgroup and waits until it is no longer frozen. A cgroup
// whose ancestor is frozen stays frozen, so Thaw then waits until ctx ends.
func (m *Manager) Thaw(ctx context.Context, path string) error {
	f, err := m.freezerFor(path)
	if err != nil {
		return err
	}
	if err := f.set(ctx, false); err != nil {
		return fmt.Errorf("thaw %s: %w", path, err)
	}
	return nil
}

// Frozen reports whether the kernel has frozen the cgroup at path: by
// its own freezer or, on v2, an ancestor's (systemctl freeze of its
// unit). One that is still freezing is not yet: as podman's ps, which
// shows a container paused once its pause is done. It is one read, and
// says whether the cgroup exists: ps asks it of every running container.
func (m *Manager) Frozen(path string) (bool, error) {
	f, err := m.freezerAt(path)
	if err != nil {
		return false, err
	}
	frozen, err := f.frozen()
	if err != nil {
		return false, fmt.Errorf("freezer state of %s: %w", path, noCgroup(f, err))
	}
	return frozen, nil
}

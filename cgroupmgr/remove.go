package cgroupmgr

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// Remove deletes the cgroup and its child cgroups, deepest first, in every
// hierarchy where it exists. On v1 this matters because runc leaves
// freezer, cpuset and cpuacct directories that systemd never removes.
// A cgroup that does not exist is not an error; one that still holds a
// process is (ErrBusy), and then nothing is removed.
func (m *Manager) Remove(path string) error {
	clean, err := cleanPath(path)
	if err != nil {
		return err
	}
	pids, err := m.Processes(clean)
	if errors.Is(err, ErrNoCgroup) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove cgroup %s: %w", clean, err)
	}
	if len(pids) > 0 {
		return fmt.Errorf("remove cgroup %s: pids %v: %w", clean, pids, ErrBusy)
	}
	hs, err := m.hierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hs {
		if err := removeTree(filepath.Join(h, clean)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove cgroup %s: %w", clean, err)
	}
	return nil
}

// removeTree removes dir and its subdirectories bottom-up. A cgroup
// directory's files are not real and need no removing.
func removeTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	// WalkDir lists parents before children.
	slices.Reverse(dirs)
	for _, d := range dirs {
		if err := rmdirCgroup(d); err != nil {
			return err
		}
	}
	return nil
}

// rmdirCgroup retries EBUSY briefly: the kernel may still count a process
// that has just exited.
func rmdirCgroup(dir string) error {
	var err error
	for i := range 5 {
		err = syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			break
		}
		time.Sleep(time.Duration(1<<i) * 5 * time.Millisecond)
	}
	if errors.Is(err, syscall.EBUSY) {
		err = fmt.Errorf("%w (%w)", ErrBusy, err)
	}
	return fmt.Errorf("rmdir %s: %w", dir, err)
}

// Prune removes the cgroup directory at path (not its children) in every
// hierarchy where it is empty, and leaves it where it is not. It is for a
// unit's own cgroup on v1: systemd removes it in the hierarchies it
// manages, but never in those it does not (freezer, cpuset), where runc
// created it for the container below.
func (m *Manager) Prune(path string) error {
	clean, err := cleanPath(path)
	if err != nil {
		return err
	}
	hs, err := m.hierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hs {
		err := syscall.Rmdir(filepath.Join(h, clean))
		switch {
		case err == nil, errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.EBUSY), errors.Is(err, syscall.ENOTEMPTY):
		default:
			errs = append(errs, fmt.Errorf("prune cgroup %s in %s: %w", clean, h, err))
		}
	}
	return errors.Join(errs...)
}

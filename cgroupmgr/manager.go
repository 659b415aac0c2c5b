package cgroupmgr

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultRoot is where the cgroup filesystems are mounted.
const DefaultRoot = "/sys/fs/cgroup"

// Manager operates on container cgroups in one layout. It holds no state
// besides its configuration, so one value can be shared by goroutines.
type Manager struct {
	mode Mode
	root string
}

// Option configures a Manager.
type Option func(*Manager)

// WithRoot replaces /sys/fs/cgroup. On v2 it is the cgroup2 mount (or a
// cgroup below it); on v1 and hybrid it is a directory whose entries are
// the hierarchies (freezer, memory, systemd, unified, ...), which may be
// symlinks — tests use that to root every hierarchy at their own cgroup.
func WithRoot(dir string) Option {
	return func(m *Manager) { m.root = dir }
}

// New returns a Manager for the given layout, normally Detect().
func New(mode Mode, opts ...Option) *Manager {
	m := &Manager{mode: mode, root: DefaultRoot}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Mode returns the layout the Manager works in.
func (m *Manager) Mode() Mode { return m.mode }

// cleanPath validates a runc cgroupsPath. Only absolute paths strictly
// below the root are accepted: "/" or ".." would aim KillAll at the host.
func cleanPath(path string) (string, error) {
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("cgroup path %q: must be absolute", path)
	}
	if slices.Contains(strings.Split(path, "/"), "..") {
		return "", fmt.Errorf("cgroup path %q: must not contain ..", path)
	}
	clean := filepath.Clean(path)
	if clean == "/" {
		return "", fmt.Errorf("cgroup path %q: refusing the root cgroup", path)
	}
	return clean, nil
}

// hierarchies lists the mount points this layout keeps processes in:
// the root itself on v2, every mounted hierarchy below the root on v1 and
// hybrid (controllers, name=systemd and, in hybrid, unified). Aliases such
// as cpu -> cpu,cpuacct are listed once.
func (m *Manager) hierarchies() ([]string, error) {
	switch m.mode {
	case Unified:
		return []string{m.root}, nil
	case Hybrid, Legacy:
	default:
		return nil, fmt.Errorf("cgroup layout %s: %w", m.mode, ErrNotSupported)
	}
	entries, err := os.ReadDir(m.root)
	if err != nil {
		return nil, fmt.Errorf("list cgroup hierarchies: %w", err)
	}
	seen := map[string]bool{}
	var dirs []string
	for _, e := range entries {
		dir := filepath.Join(m.root, e.Name())
		if !isHierarchy(dir) {
			continue
		}
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			real = dir
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

// isHierarchy tells a mounted cgroup hierarchy from other entries (files,
// empty mount points): every cgroup directory has cgroup.procs.
func isHierarchy(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "cgroup.procs"))
	return err == nil
}

// existingDirs returns the cgroup directories of path, one per hierarchy
// in which it exists, or ErrNoCgroup if it exists in none.
func (m *Manager) existingDirs(path string) ([]string, error) {
	clean, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	hs, err := m.hierarchies()
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, h := range hs {
		dir := filepath.Join(h, clean)
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			dirs = append(dirs, dir)
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("cgroup %s: %w", clean, ErrNoCgroup)
	}
	return dirs, nil
}

// Available reports whether a controller ("memory", "cpu", "pids",
// "freezer", ...) can be used for a container cgroup in this layout.
func (m *Manager) Available(controller string) bool {
	switch m.mode {
	case Unified:
		// The v2 freezer is part of the core (cgroup.freeze), not a
		// controller, so it is never listed in cgroup.controllers.
		if controller == "freezer" {
			return true
		}
		data, err := os.ReadFile(filepath.Join(m.root, "cgroup.controllers"))
		if err != nil {
			return false
		}
		return slices.Contains(strings.Fields(string(data)), controller)
	case Hybrid, Legacy:
		// In hybrid mode every controller is bound to v1; the unified
		// mount has none, so only the v1 mounts count.
		return isHierarchy(filepath.Join(m.root, controller))
	default:
		return false
	}
}

// SystemdRoots are the hierarchies in which systemd tracks units, where a
// process must be moved to count as a unit's: the cgroup2 mount on v2; the
// name=systemd hierarchy on v1, and on hybrid the unified mount as well.
func (m *Manager) SystemdRoots() []string {
	switch m.mode {
	case Hybrid:
		return []string{filepath.Join(m.root, "systemd"), filepath.Join(m.root, "unified")}
	case Legacy:
		return []string{filepath.Join(m.root, "systemd")}
	}
	return []string{m.root}
}

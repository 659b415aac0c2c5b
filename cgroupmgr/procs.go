package cgroupmgr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Processes returns every pid in the cgroup subtree. On v1 and hybrid it
// is the union over all hierarchies, because a process can sit in the
// container's name=systemd or freezer cgroup but not in its memory one.
func (m *Manager) Processes(path string) ([]int, error) {
	dirs, err := m.existingDirs(path)
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	for _, dir := range dirs {
		if err := walkProcs(dir, func(pid int) { seen[pid] = true }); err != nil {
			return nil, fmt.Errorf("processes of %s: %w", path, err)
		}
	}
	pids := make([]int, 0, len(seen))
	for pid := range seen {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids, nil
}

// walkProcs calls add for each pid in cgroup.procs of dir and its
// descendants. Cgroups vanishing mid-walk are skipped, not errors.
func walkProcs(dir string, add func(int)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		pids, err := parsePids(string(data))
		if err != nil {
			return err
		}
		for _, pid := range pids {
			add(pid)
		}
		return nil
	})
}

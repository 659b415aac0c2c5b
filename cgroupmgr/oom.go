package cgroupmgr

import (
	"os"
	"path/filepath"
)

// OOMKills counts the processes the kernel's OOM killer killed in the
// cgroup at path (subtree included): memory.events' oom_kill on v2,
// memory.oom_control's on v1 (whose counter is per cgroup: the unit's
// limit is on the unit's, the container's own is below it, so both are
// read). 0 where there is no memory controller.
func (m *Manager) OOMKills(path string) uint64 {
	clean, err := cleanPath(path)
	if err != nil {
		return 0
	}
	if m.mode == Unified {
		return oomKillOf(filepath.Join(m.root, clean, "memory.events"))
	}
	var n uint64
	dir := filepath.Join(m.root, "memory", clean)
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			n += oomKillOf(filepath.Join(p, "memory.oom_control"))
		}
		return nil
	})
	if m.mode == Hybrid {
		// Controllers moved to the unified hierarchy count there.
		n += oomKillOf(filepath.Join(m.root, "unified", clean, "memory.events"))
	}
	return n
}

func oomKillOf(file string) uint64 {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	return parseFlatKeyed(string(data))["oom_kill"]
}

package cgroupmgr

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ctr-unit/ctr-unit/smallfile"
)

// Stats is a snapshot of a container cgroup. A Has flag is false when the
// layout or the cgroup lacks that controller; its values are then zero.
type Stats struct {
	CPUNanos    uint64 // CPU time used by the subtree
	MemoryBytes uint64 // current memory use (v1: including page cache)
	MemoryLimit uint64 // 0: no limit
	Pids        uint64 // current number of tasks

	HasCPU    bool
	HasMemory bool
	HasPids   bool
}

// Stats reads CPU, memory and pids figures from whichever controllers the
// layout has. It reads the few files it needs itself: containerd/cgroups'
// Stat cannot tell a missing controller from a zero value on v2, and on v1
// gives up on memory when optional files (memsw) are absent.
func (m *Manager) Stats(path string) (Stats, error) {
	if _, err := m.existingDirs(path); err != nil {
		return Stats{}, err
	}
	clean, _ := cleanPath(path) // validated by existingDirs
	var (
		st  Stats
		err error
	)
	switch m.mode {
	case Unified:
		err = readStatsV2(filepath.Join(m.root, clean), &st)
	default:
		err = readStatsV1(m.root, clean, &st)
		// Hybrid without cpuacct: the unified mount still counts CPU
		// time in cpu.stat, which v2 keeps even without the cpu controller.
		if err == nil && !st.HasCPU && m.mode == Hybrid {
			err = readCPUV2(filepath.Join(m.root, "unified", clean), &st)
		}
	}
	if err != nil {
		return Stats{}, fmt.Errorf("stats of %s: %w", path, err)
	}
	return st, nil
}

func readStatsV2(dir string, st *Stats) error {
	if err := readCPUV2(dir, st); err != nil {
		return err
	}
	if err := readMemory(dir, "memory.current", "memory.max", st); err != nil {
		return err
	}
	return readPids(dir, st)
}

func readStatsV1(root, path string, st *Stats) error {
	n, ok, err := readUintFile(filepath.Join(root, "cpuacct", path, "cpuacct.usage"))
	if err != nil {
		return err
	}
	st.CPUNanos, st.HasCPU = n, ok
	err = readMemory(filepath.Join(root, "memory", path), "memory.usage_in_bytes", "memory.limit_in_bytes", st)
	if err != nil {
		return err
	}
	return readPids(filepath.Join(root, "pids", path), st)
}

func readCPUV2(dir string, st *Stats) error {
	data, err := smallfile.Read(filepath.Join(dir, "cpu.stat"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	usec, ok := parseFlatKeyed(string(data))["usage_usec"]
	st.CPUNanos, st.HasCPU = usec*1000, ok
	return nil
}

func readMemory(dir, usageFile, limitFile string, st *Stats) error {
	n, ok, err := readUintFile(filepath.Join(dir, usageFile))
	if err != nil || !ok {
		return err
	}
	st.MemoryBytes, st.HasMemory = n, true
	data, err := smallfile.Read(filepath.Join(dir, limitFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st.MemoryLimit, err = parseLimit(string(data))
	return err
}

func readPids(dir string, st *Stats) error {
	n, ok, err := readUintFile(filepath.Join(dir, "pids.current"))
	st.Pids, st.HasPids = n, ok
	return err
}

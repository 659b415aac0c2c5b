package supervisor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
)

// scaleDefinitions writes n definition files of sleeping containers.
func scaleDefinitions(tb testing.TB, s *Supervisor, n int) {
	tb.Helper()
	root, defDir := tb.TempDir(), tb.TempDir()
	s.defDirs = []string{defDir}
	for i := range n {
		text := fmt.Sprintf("[Unit]\nPartOf=scale.target\n\n[Container]\nRootfs=%s\nExec=sleep 100000\nStopSignal=SIGKILL\n\n[Install]\nWantedBy=multi-user.target\n", root)
		if err := os.WriteFile(filepath.Join(defDir, fmt.Sprintf("c%d.container", i)), []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// The generator with 500 files (make bench-scale measures it at boot).
func BenchmarkGenerate500(b *testing.B) {
	s, _ := testSupervisor(b, cgroupmgr.Unified)
	scaleDefinitions(b, s, 500)
	for b.Loop() {
		out := b.TempDir()
		if err := s.Generate(out, func(f string, a ...any) { b.Fatalf(f, a...) }); err != nil {
			b.Fatal(err)
		}
	}
}

// ps with 500 containers defined in files, all running.
func BenchmarkList500(b *testing.B) {
	s, sd := testSupervisor(b, cgroupmgr.Unified)
	scaleDefinitions(b, s, 500)
	ctx := context.Background()
	if err := s.Refresh(ctx, nil); err != nil {
		b.Fatal(err)
	}
	names, _ := s.store.Names()
	for _, n := range names {
		cfg, _ := s.store.Config(n)
		sd.run(cfg.Unit, "/etc/systemd/system/ctr@.service", nil)
	}
	for b.Loop() {
		if err := s.Refresh(ctx, nil); err != nil {
			b.Fatal(err)
		}
		list, err := s.List(ctx, true)
		if err != nil || len(list) != 500 {
			b.Fatal(len(list), err)
		}
	}
}

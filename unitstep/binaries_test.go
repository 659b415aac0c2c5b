package unitstep

import (
	"os"
	"path/filepath"
	"testing"
)

// A helper is found beside the ctr-unit that looks for it, installed or
// built, and FullOf finds that ctr-unit again from the helper.
func TestHelperAndFullOfFindEachOther(t *testing.T) {
	for _, layout := range []struct{ full, lean string }{
		{"bin/ctr-unit", "libexec/ctr-unit/ctr-unit-step"},
		{"build/ctr-unit", "build/ctr-unit-step"},
	} {
		root := t.TempDir()
		for _, p := range []string{layout.full, layout.lean} {
			p = filepath.Join(root, p)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		full, lean := filepath.Join(root, layout.full), filepath.Join(root, layout.lean)
		if got := Helper(full, LeanName); got != lean {
			t.Errorf("Helper(%s) = %q, want %q", layout.full, got, lean)
		}
		if got := FullOf(lean); got != full {
			t.Errorf("FullOf(%s) = %q, want %q", layout.lean, got, full)
		}
		if got := Helper(full, ImageName); got != "" {
			t.Errorf("Helper found %q, which is not there", got)
		}
		if err := os.Chmod(full, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := FullOf(lean); got != "" {
			t.Errorf("FullOf found %q, which cannot run", got)
		}
	}
}

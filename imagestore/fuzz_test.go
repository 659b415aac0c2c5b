package imagestore

import (
	"errors"
	"strings"
	"testing"

	"go.podman.io/image/v5/docker/reference"
)

// FuzzNormalizeName: any image reference is read without a panic; a
// refusal is ErrBadName; a name the store keeps normalizes to itself and
// is one containers/image reads as the same reference, since pulls and
// pushes hand it there.
func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"busybox", "busybox:1.36", "library/busybox", "docker.io/busybox", "index.docker.io/busybox:1",
		"quay.io/org/app:v1", "registry:5000/app", "127.0.0.1:5000/a/b-c__d.e:V1", "app:1@sha256:" + strings.Repeat("a", 64),
		"Busybox", "app@sha256:abc", "app:", "", "a/../b:x y", "a/b_.c", "-a", "reg:x/app", strings.Repeat("a", 64), "[::1]:5000/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		n, err := NormalizeName(ref)
		if err != nil {
			if !errors.Is(err, ErrBadName) {
				t.Fatalf("NormalizeName(%q): %v, want ErrBadName", ref, err)
			}
			return
		}
		if again, err := NormalizeName(n); err != nil || again != n {
			t.Fatalf("NormalizeName(%q) = %q, which normalizes to %q, %v", ref, n, again, err)
		}
		named, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			t.Fatalf("NormalizeName(%q) = %q, which containers/image refuses: %v", ref, n, err)
		}
		if named.String() != n {
			t.Fatalf("NormalizeName(%q) = %q, which containers/image reads as %q", ref, n, named.String())
		}
	})
}

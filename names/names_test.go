package names

import (
	"regexp"
	"testing"
)

// The rule as podman writes it.
var podman = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

func TestValidIsPodmansRule(t *testing.T) {
	for _, s := range []string{"", "a", "web", "web-1", "a.b_c-d", "0", "_x", ".x", "-x", "a b", "a/b", "é", "aé", "a\n", "A9", "x:y", "x..", "ab\x00"} {
		if got, want := Valid(s), podman.MatchString(s); got != want {
			t.Errorf("Valid(%q) = %v, podman says %v", s, got, want)
		}
	}
}

func FuzzValidIsPodmansRule(f *testing.F) {
	f.Add("web-1")
	f.Add("é")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Valid(s), podman.MatchString(s); got != want {
			t.Errorf("Valid(%q) = %v, podman says %v", s, got, want)
		}
	})
}

package pullpolicy

import "testing"

func TestParseTakesPodmansSpellings(t *testing.T) {
	for in, want := range map[string]Policy{
		"always": Always, "true": Always, "missing": Missing, "newer": Newer,
		"ifnewer": Newer, "never": Never, "false": Never, "Never": Never,
	} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "sometimes", "missing "} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func TestStoredSufficesForMissingAndNever(t *testing.T) {
	for p, want := range map[Policy]bool{Always: false, Missing: true, Newer: false, Never: true} {
		if got := p.StoredSuffices(); got != want {
			t.Errorf("%s.StoredSuffices() = %v, want %v", p, got, want)
		}
	}
}

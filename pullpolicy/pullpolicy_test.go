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

package definition

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The modes read values as quadlet's lookups do (podman v5.8.2,
// pkg/systemd/parser/unitfile.go and split.go, read with the fetch tool;
// Debian 12's podman 4.3 has no quadlet to run). Where quadlet drops a
// value it cannot split with a warning, the reader refuses it.
func TestModesReadAsQuadlet(t *testing.T) {
	for _, c := range []struct {
		value string
		mode  Mode
		want  []string // nil: a problem
	}{
		// Lookup: one pair of surrounding double quotes goes (5.8.2;
		// 5.0 to 5.8.1 trimmed every " at either end), escapes stay.
		{`"localhost/x"`, Unquoted, []string{"localhost/x"}},
		{`"hello world"`, Unquoted, []string{"hello world"}},
		{`/bin/sh -c "echo 'hi'"`, Unquoted, []string{`/bin/sh -c "echo 'hi'"`}},
		{`""x""`, Unquoted, []string{`"x"`}},
		{`"`, Unquoted, []string{`"`}},
		{`'single'`, Unquoted, []string{`'single'`}},
		{`a\x20b`, Unquoted, []string{`a\x20b`}},
		// LookupAll: as written.
		{`"/a b":/c`, Raw, []string{`"/a b":/c`}},
		// LookupAllStrv: blanks split, quotes go, backslashes stay.
		{`CAP_A  CAP_B`, Words, []string{"CAP_A", "CAP_B"}},
		{`"a b" 'c d' e"f g"`, Words, []string{"a b", "c d", "ef g"}},
		{`a\x2db.target c\ d`, Words, []string{`a\x2db.target`, `c\`, "d"}},
		{`"a\"b"`, Words, nil},
		{`"open`, Words, nil},
		// LookupAllArgs, LookupLastArgs, LookupAllKeyVal: as systemd's
		// command lines.
		{`sh -c "trap 'exit 0' TERM; sleep 1000"`, Args, []string{"sh", "-c", "trap 'exit 0' TERM; sleep 1000"}},
		{`A=1 "B=2 3" C=\x41\u00e9`, Args, []string{"A=1", "B=2 3", "C=Aé"}},
		{`"a\"b" 'c\'d'`, Args, []string{`a"b`, `c'd`}},
		{`x ""`, Args, []string{"x", ""}}, // quadlet loses the empty word
		{``, Args, nil},
		{`  `, Args, nil},
		{`\.`, Args, nil},
		{`a\`, Args, nil},
		{`"a`, Args, nil},
		{`\ud800`, Args, nil},
		{`\xff`, Args, nil},
		{`\x4`, Args, nil},
		{`\12`, Args, nil},
		{`\u12G4`, Args, nil},
	} {
		e := Entry{Key: "K", Value: c.value, Line: 7, File: "f.container"}
		got, err := e.Values(c.mode, nil)
		switch {
		case c.want == nil && (c.value == "" || strings.TrimSpace(c.value) == ""):
			if err != nil || len(got) != 0 {
				t.Errorf("%v %q = %q, %v; want no words", c.mode, c.value, got, err)
			}
		case c.want == nil:
			if err == nil || !strings.HasPrefix(err.Error(), "f.container:7: K=") || !errors.Is(err, ErrInvalid) {
				t.Errorf("%v %q = %q, %v; want a problem at f.container:7", c.mode, c.value, got, err)
			}
		case err != nil || !reflect.DeepEqual(got, c.want):
			t.Errorf("%v %q = %q, %v; want %q", c.mode, c.value, got, err, c.want)
		}
	}
}

func TestValuesExpandEachWordAfterSplitting(t *testing.T) {
	sp := &Specifiers{Unit: "ctr@web.service", Host: Host{PrettyHostname: `Bob's "box"`}}
	e := Entry{Key: "Exec", Value: `/bin/echo %q \x25i "%i x" %%`, Line: 2, File: "web.container"}
	got, err := e.Values(Args, sp)
	want := []string{"/bin/echo", `Bob's "box"`, "web", "web x", "%"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Values = %q, %v; want %q", got, err, want)
	}
	e.Value = "/srv/%z"
	if _, err := e.Values(Raw, sp); err == nil || !strings.HasPrefix(err.Error(), "web.container:2: Exec=/srv/%z: bad specifier %z") {
		t.Errorf("unknown specifier: %v", err)
	}
}

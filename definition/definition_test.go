package definition

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseKeepsLinesAndPassesSectionsThrough(t *testing.T) {
	text := `# a web server
[Unit]
Description=web

[Container]
Rootfs=/srv/web
Exec=/bin/httpd -f \
  -p 8080
Environment=A=1 "B=two words"

[Install]
WantedBy=multi-user.target
`
	f, err := Parse("/etc/ctr-unit/web.container", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "web" || f.SectionLine != 5 {
		t.Errorf("name %q section line %d", f.Name, f.SectionLine)
	}
	exec, _ := f.Get("Exec")
	if exec.Line != 7 || !strings.HasPrefix(exec.Value, "/bin/httpd -f") {
		t.Errorf("Exec = %+v", exec)
	}
	env, _ := f.Get("Environment")
	if env.Line != 9 {
		t.Errorf("Environment line %d, want 9 (after a continued line)", env.Line)
	}
	if in, probs := f.InstallSettings(func(string) bool { return false }); len(probs) > 0 || !reflect.DeepEqual(in.WantedBy, []string{"multi-user.target"}) {
		t.Errorf("WantedBy = %q, %v", in.WantedBy, probs)
	}
	var lines []int
	for _, e := range f.Settings {
		if e.Section != "Container" {
			lines = append(lines, e.Line)
		}
	}
	if !reflect.DeepEqual(lines, []int{3, 12}) {
		t.Errorf("lines of the other sections: %v", lines)
	}
}

func TestParseReportsEverySyntaxProblemWithItsLine(t *testing.T) {
	text := "Exec=/bin/true\n[Container]\nRootfs /srv\n[Bad\n[Container] x\n=value\n"
	_, err := Parse("x.container", strings.NewReader(text))
	var probs Problems
	if !errors.As(err, &probs) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want Problems", err)
	}
	lines := []int{}
	for _, p := range probs {
		lines = append(lines, p.Line)
	}
	if !reflect.DeepEqual(lines, []int{1, 3, 4, 5, 6}) {
		t.Errorf("problem lines %v, want [1 3 4 5 6]:\n%v", lines, err)
	}
	if !strings.Contains(err.Error(), "x.container:3:") {
		t.Errorf("messages must start with file:line: %v", err)
	}
}

func TestParseRefusesUnknownSectionAndMissingContainer(t *testing.T) {
	_, err := Parse("a.container", strings.NewReader("[Unit]\nDescription=x\n[Nope]\nA=b\n"))
	if err == nil || !strings.Contains(err.Error(), "a.container:3: unknown section [Nope]") {
		t.Errorf("err = %v", err)
	}
	_, err = Parse("a.container", strings.NewReader("[Unit]\nDescription=x\n"))
	if err == nil || !strings.Contains(err.Error(), "no [Container] section") {
		t.Errorf("err = %v", err)
	}
}

func TestFindEarlierDirectoriesOverrideLater(t *testing.T) {
	etc, run := t.TempDir(), t.TempDir()
	for _, p := range []string{filepath.Join(etc, "a.container"), filepath.Join(run, "a.container"), filepath.Join(run, "b.container"), filepath.Join(run, "c.conf")} {
		os.WriteFile(p, nil, 0o644)
	}
	found, err := Find([]string{etc, run, filepath.Join(etc, "missing")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": filepath.Join(etc, "a.container"), "b": filepath.Join(run, "b.container")}
	if !reflect.DeepEqual(found, want) {
		t.Errorf("Find = %v, want %v", found, want)
	}
}

func TestSplitWords(t *testing.T) {
	cases := map[string][]string{
		`sh -c "trap 'exit 0' TERM; sleep 1000"`: {"sh", "-c", "trap 'exit 0' TERM; sleep 1000"},
		`a\s"b c"  d`:                            {"a b c", "d"},
		`x ""`:                                   {"x", ""},
		``:                                       nil,
	}
	for in, want := range cases {
		got, err := SplitWords(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`a "b`, `a\ b`, `a\`} {
		if _, err := SplitWords(bad); err == nil {
			t.Errorf("SplitWords(%q) accepted", bad)
		}
	}
}

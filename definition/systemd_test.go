package definition

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// systemdCase is a text in unit-file syntax and what systemd 252 makes of
// it. The verdicts (load, got) were read from systemd 252 (Debian
// 252.38-1~deb12u1) as PID 1 of a hack/sysbox box: the text as the unit
// /run/systemd/system/UNIT, a daemon-reload, then the unit's LoadState and
// the property prop over D-Bus, as `systemctl show` prints them.
// TestSystemdAgreesWithTheTable (systemd_integration_test.go, build tag
// integration) reads them from systemd again, so the table cannot drift.
type systemdCase struct {
	name string
	// unit is the unit file's text. The unit is def-syn-NAME.service
	// unless unitName says otherwise (a template instance's file is the
	// template's).
	unit     string
	unitName string
	// prop is what is looked at: Description (a string with specifiers,
	// nothing else decoded), Environment (KEY=VALUE words: quotes,
	// escapes, specifiers) or ExecStart (a command line, the same).
	prop string
	// load is systemd's LoadState; got the property's value: the
	// description, the environment's assignments, the command's argv.
	// Where the unit does not load, got is not looked at.
	load string
	got  []string
	// problem is the line the reader names where it refuses what systemd
	// takes (with a warning, or dropping the setting), 0 where it reads
	// exactly what systemd reads. why says why it differs.
	problem int
	why     string
}

// unitName is the unit the case is loaded as.
func (c systemdCase) unitFileName() string {
	if c.unitName != "" {
		return c.unitName
	}
	return "def-syn-" + c.name + ".service"
}

// fragmentName is the file systemd loads the unit from.
func (c systemdCase) fragmentName() string {
	name := c.unitFileName()
	if at := strings.IndexByte(name, '@'); at >= 0 {
		return name[:at+1] + name[strings.LastIndexByte(name, '.'):]
	}
	return name
}

// unitDir is where the cases' units are put.
const unitDir = "/run/systemd/system/"

// svc is a [Service] section that loads, before or after the lines under
// test.
const svc = "[Service]\nExecStart=/bin/true\n"

// Reasons the reader refuses what systemd takes.
const (
	whyQuadletRefuses = "quadlet refuses the file; systemd skips the line with a warning"
	whyUnknownEscape  = "an unknown escape is an error, as in systemd's Environment= (quadlet drops the value with a warning)"
	whyNotUTF8        = "a value must be UTF-8 (systemd passes the bytes to ExecStart=, refuses them in Environment=)"
	whyOddLine        = "systemd starts a new line at a bare CR; quadlet keeps it in the value"
)

func systemdCases() []systemdCase {
	return []systemdCase{
		// Line continuation: a trailing backslash becomes a space and the
		// next line, leading blanks and all, follows.
		{name: "cont-exec", unit: "[Service]\nExecStart=/bin/echo --a \\\n  arg\n",
			prop: "ExecStart", load: "loaded", got: []string{"/bin/echo", "--a", "arg"}},
		{name: "cont-joins-with-space", unit: "[Unit]\nDescription=a\\\nb\n" + svc,
			prop: "Description", load: "loaded", got: []string{"a b"}},
		{name: "cont-keeps-indent", unit: "[Unit]\nDescription=x \\\n     y\n" + svc,
			prop: "Description", load: "loaded", got: []string{"x       y"}},
		{name: "cont-env-words", unit: svc + "Environment=A=x\\\n  B=y\n",
			prop: "Environment", load: "loaded", got: []string{"A=x", "B=y"}},
		{name: "comment-backslash-does-not-continue", unit: svc + "# a comment \\\nEnvironment=A=1\n",
			prop: "Environment", load: "loaded", got: []string{"A=1"}},
		{name: "comments-inside-continuation", unit: "[Service]\nExecStart=/bin/echo one \\\n# inner \\\n; inner too\n   two\n",
			prop: "ExecStart", load: "loaded", got: []string{"/bin/echo", "one", "two"}},
		{name: "blank-line-ends-continuation", unit: "[Unit]\nDescription=a \\\n\n  b\n" + svc,
			prop: "Description", load: "loaded", got: []string{"a"}, problem: 4, why: whyQuadletRefuses},
		{name: "continuation-at-end-of-file", unit: svc + "[Unit]\nDescription=abc \\",
			prop: "Description", load: "loaded", got: []string{"abc"}},
		{name: "even-backslashes-do-not-continue", unit: svc + "Environment=A=a\\\\\nEnvironment=C=1\n",
			prop: "Environment", load: "loaded", got: []string{`A=a\`, "C=1"}},
		{name: "backslash-then-blank-exec", unit: "[Service]\nExecStart=/bin/echo a \\ \n",
			prop: "ExecStart", load: "loaded", got: []string{"/bin/echo", "a", `\`}, problem: 2,
			why: "a trailing backslash is an error (systemd keeps it with a warning, quadlet drops Exec=)"},
		{name: "backslash-then-blank-env", unit: svc + "Environment=A=x\\ y\n",
			prop: "Environment", load: "loaded", got: nil, problem: 3, why: whyUnknownEscape},

		// C escapes: decoded in command lines and environment words.
		{name: "escapes-env", unit: svc + "Environment=A=\\x41\\110\\u00e9\\U0001F600\\s\\t\\\\\n",
			prop: "Environment", load: "loaded", got: []string{"A=AHé😀 \t\\"}},
		{name: "escapes-exec", unit: "[Service]\nExecStart=/bin/echo \\x41 \\110 \\u00e9 \\s \"a b\" 'c d' e\"f g\"h 'a\\x41' \"b\\tc\" \\\"\n",
			prop: "ExecStart", load: "loaded", got: []string{"/bin/echo", "A", "H", "é", " ", "a b", "c d", "ef gh", "aA", "b\tc", `"`}},
		{name: "escapes-not-in-description", unit: "[Unit]\nDescription=x\\x41\\110\\.\n" + svc,
			prop: "Description", load: "loaded", got: []string{`x\x41\110\.`}},
		{name: "unknown-escape-env", unit: svc + "Environment=A=1 B=\\. C=2\n",
			prop: "Environment", load: "loaded", got: []string{"A=1"}, problem: 3, why: whyUnknownEscape},
		{name: "unknown-escape-exec", unit: "[Service]\nExecStart=/bin/echo \\.\n",
			prop: "ExecStart", load: "loaded", got: []string{"/bin/echo", `\.`}, problem: 2, why: whyUnknownEscape},
		{name: "nul-escape", unit: svc + "Environment=A=\\x00\n",
			prop: "Environment", load: "loaded", got: nil, problem: 3, why: whyUnknownEscape},
		{name: "octal-above-255", unit: svc + "Environment=A=\\400\n",
			prop: "Environment", load: "loaded", got: nil, problem: 3, why: whyUnknownEscape},
		{name: "code-point-too-big", unit: svc + "Environment=A=\\U00110000\n",
			prop: "Environment", load: "loaded", got: nil, problem: 3, why: whyUnknownEscape},
		{name: "escape-not-utf8", unit: svc + "Environment=A=\\xff B=1\n",
			prop: "Environment", load: "loaded", got: []string{"B=1"}, problem: 3, why: whyNotUTF8},

		// Quotes group words and go; a single value keeps them.
		{name: "empty-words", unit: "[Service]\nExecStart=/bin/echo x \"\" ''\n",
			prop: "ExecStart", load: "loaded", got: []string{"/bin/echo", "x", "", ""}},
		{name: "quoted-env", unit: svc + "Environment=\"A=1 2\" 'B=3 4'\n",
			prop: "Environment", load: "loaded", got: []string{"A=1 2", "B=3 4"}},
		{name: "quotes-stay-in-description", unit: "[Unit]\nDescription=\"quoted value\"\n" + svc,
			prop: "Description", load: "loaded", got: []string{`"quoted value"`}},
		{name: "unbalanced-quote-exec", unit: "[Service]\nExecStart=/bin/echo \"a b\n",
			prop: "ExecStart", load: "bad-setting", problem: 2, why: "the unit does not load"},
		{name: "unbalanced-quote-env", unit: svc + "Environment=\"A=1 2\n",
			prop: "Environment", load: "loaded", got: nil, problem: 3, why: "systemd drops the setting with a warning"},

		// An empty assignment resets a list.
		{name: "empty-resets", unit: svc + "Environment=A=1\nEnvironment=\nEnvironment=B=2\n",
			prop: "Environment", load: "loaded", got: []string{"B=2"}},

		// Specifiers: expanded after quotes and escapes, so \x25n is %n.
		{name: "spec-names", unitName: "def-syn-spec@my-web\\x2dx.service",
			unit: "[Service]\nExecStart=/bin/echo %n %N %p %P %i %I %j %J %f\n",
			prop: "ExecStart", load: "loaded", got: []string{"/bin/echo", `def-syn-spec@my-web\x2dx.service`, `def-syn-spec@my-web\x2dx`,
				"def-syn-spec", "def/syn/spec", `my-web\x2dx`, "my/web-x", "spec", "spec", "/my/web-x"}},
		{name: "spec-manager", unit: "[Service]\nExecStart=/bin/echo %h %u %U %g %G %t %T %V %S %C %L %E %% a%\n",
			prop: "ExecStart", load: "loaded", got: []string{"/bin/echo", "/root", "root", "0", "root", "0",
				"/run", "/tmp", "/var/tmp", "/var/lib", "/var/cache", "/var/log", "/etc", "%", "a%"}},
		{name: "spec-fragment", unit: "[Service]\nExecStart=/bin/echo %y %Y %d\n",
			prop: "ExecStart", load: "loaded", got: []string{"/bin/echo", unitDir + "def-syn-spec-fragment.service",
				"/run/systemd/system", "/run/credentials/def-syn-spec-fragment.service"}},
		{name: "spec-after-escapes", unit: "[Service]\nExecStart=/bin/echo \\x25n \"%N\" \\x25%n\n",
			prop: "ExecStart", load: "loaded", got: []string{"/bin/echo", "def-syn-spec-after-escapes.service", "def-syn-spec-after-escapes", "%n"}},
		{name: "spec-env", unit: svc + "Environment=A=\\x25n B=%N \"C=%p x\"\n",
			prop: "Environment", load: "loaded", got: []string{"A=def-syn-spec-env.service", "B=def-syn-spec-env", "C=def-syn-spec-env x"}},
		{name: "spec-description", unit: "[Unit]\nDescription=%n \\x25n %%\n" + svc,
			prop: "Description", load: "loaded", got: []string{`def-syn-spec-description.service \x25n %`}},
		{name: "spec-f-not-a-path", unitName: "def-syn-f1@web-.service", unit: "[Unit]\nDescription=%f\n" + svc,
			prop: "Description", load: "loaded", got: []string{"def-syn-f1@web-.service"}, problem: 2,
			why: "systemd drops the setting with a warning"},
		{name: "spec-bad-escape-in-name", unitName: `def-syn-f2@x\xZZ.service`, unit: "[Unit]\nDescription=%I\n" + svc,
			prop: "Description", load: "loaded", got: []string{`def-syn-f2@x\xZZ.service`}, problem: 2,
			why: "systemd drops the setting with a warning"},
		{name: "spec-unknown-exec", unit: "[Service]\nExecStart=/bin/echo %z\n",
			prop: "ExecStart", load: "bad-setting", problem: 2, why: "the unit does not load"},
		{name: "spec-unknown-env", unit: svc + "Environment=A=%z B=1\n",
			prop: "Environment", load: "loaded", got: []string{"B=1"}, problem: 3, why: "systemd drops the word with a warning"},

		// Lines, sections and keys.
		{name: "blanks-around", unit: "[Unit]\n  Description  =   spaced   \n\t[Service]  \nExecStart=/bin/true\n",
			prop: "Description", load: "loaded", got: []string{"spaced"}},
		{name: "crlf", unit: "[Unit]\r\nDescription=crlf\r\n[Service]\r\nExecStart=/bin/true\r\n",
			prop: "Description", load: "loaded", got: []string{"crlf"}},
		{name: "outside-section", unit: "Description=outside\n[Unit]\nDescription=in\n" + svc,
			prop: "Description", load: "loaded", got: []string{"in"}, problem: 1, why: whyQuadletRefuses},
		{name: "missing-equals", unit: "[Unit]\nfoo\nDescription=x\n" + svc,
			prop: "Description", load: "loaded", got: []string{"x"}, problem: 2, why: whyQuadletRefuses},
		{name: "empty-key", unit: "[Unit]\n=value\nDescription=x\n" + svc,
			prop: "Description", load: "loaded", got: []string{"x"}, problem: 2, why: whyQuadletRefuses},
		{name: "bad-header", unit: "[Unit] x\nDescription=in\n" + svc,
			prop: "Description", load: "error", problem: 1, why: "the unit does not load"},
		{name: "unclosed-header", unit: "[Unit]\nDescription=x\n[Unit\nDescription=y\n" + svc,
			prop: "Description", load: "error", problem: 3, why: "the unit does not load"},
		{name: "bracket-in-section", unit: "[Unit]\nDescription=x\n[Un]it]\nDescription=y\n" + svc,
			prop: "Description", load: "loaded", got: []string{"x"}, problem: 3, why: whyQuadletRefuses},
		{name: "unknown-section", unit: "[Unit]\nDescription=x\n[Nope]\nDescription=y\n" + svc,
			prop: "Description", load: "loaded", got: []string{"x"}, problem: 3,
			why: "a section a definition cannot have (systemd ignores it with a warning, quadlet passes it on)"},
		{name: "x-section", unit: "[Unit]\nDescription=x\n[X-Mine]\nDescription=y\n" + svc,
			prop: "Description", load: "loaded", got: []string{"x"}},
		{name: "byte-order-mark", unit: "\ufeff[Unit]\nDescription=bom\n" + svc,
			prop: "Description", load: "loaded", got: []string{"bom"}, problem: 1, why: whyQuadletRefuses},
		{name: "bare-cr", unit: "[Unit]\nDescription=a\rDocumentation=man:x(1)\n" + svc,
			prop: "Description", load: "loaded", got: []string{"a"}, problem: 2, why: whyOddLine},
		{name: "not-utf8", unit: "[Unit]\nDescription=bad\xffutf8\n" + svc,
			prop: "Description", load: "error", problem: 2, why: "the unit does not load"},
	}
}

// readerReads is what the reader makes of a case: the property's value
// as systemd would compute it from the settings the reader returns.
func readerReads(c systemdCase, host Host) ([]string, Problems) {
	f := &File{Path: unitDir + c.fragmentName()}
	probs := f.add(f.Path, []byte(c.unit))
	sp := &Specifiers{Unit: c.unitFileName(), Fragment: f.Path, Host: host}
	var out []string
	read := func(e Entry, m Mode) {
		vals, err := e.Values(m, sp)
		var ps Problems
		if errors.As(err, &ps) {
			probs = append(probs, ps...)
		}
		out = append(out, vals...)
	}
	last := func(section string) (Entry, bool) {
		var found Entry
		for _, e := range f.Settings {
			if e.Section == section && e.Key == c.prop {
				found = e
			}
		}
		return found, found.Key != ""
	}
	switch c.prop {
	case "Description":
		if e, ok := last("Unit"); ok {
			read(e, Raw)
		}
	case "ExecStart":
		if e, ok := last("Service"); ok {
			read(e, Args)
		}
	case "Environment":
		for _, e := range lastList(f.Settings, "Service", "Environment") {
			read(e, Args)
		}
	}
	return out, probs
}

func TestReaderReadsAsSystemd(t *testing.T) {
	for _, c := range systemdCases() {
		t.Run(c.name, func(t *testing.T) {
			got, probs := readerReads(c, Host{})
			if c.problem == 0 {
				if len(probs) > 0 || !reflect.DeepEqual(got, c.got) {
					t.Errorf("reader: %q, problems %v\nsystemd: %q", got, probs, c.got)
				}
				return
			}
			want := fmt.Sprintf("%s:%d: ", unitDir+c.fragmentName(), c.problem)
			if len(probs) == 0 || !strings.HasPrefix(probs[0].Error(), want) {
				t.Errorf("reader: %q, problems %v; want a problem at %s (%s)", got, probs, want, c.why)
			}
		})
	}
}

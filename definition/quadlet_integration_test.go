//go:build integration

package definition

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// Quadlet puts a [Container] value into its unit's ExecStart=, where
// systemd expands the specifiers of NAME.service. Reading the same value
// from NAME.container must give what systemd gives there.
func TestContainerSpecifiersAreThoseOfQuadletsUnit(t *testing.T) {
	ctx, conn := connect(t)
	// Every specifier but %d (ctr-unit's unit's credentials, on purpose)
	// and %y/%Y (quadlet's unit's file, in the generator's directory).
	const specs = "%n %N %p %P %i %I %j %J %f %H %m %b %h %u %U %t %S %E %%"
	for _, name := range []string{"def-q-web", "def-q-my-web"} {
		install(t, ctx, conn, map[string]string{unitDir + name + ".service": "[Service]\nExecStart=/bin/echo " + specs + "\n"})
		want, err := property(ctx, conn, name+".service", "ExecStart")
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse("/etc/ctr-unit/"+name+".container", strings.NewReader("[Container]\nExec=/bin/echo "+specs+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range f.KeyValues("Exec") {
			got = append(got, v.Text)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: reader %q\nsystemd in %s.service %q", name, got, name, want)
		}
	}
}

// What systemd does with $ in the ExecStart= quadlet writes, and what the
// reader makes of it: the same value, or a refusal where systemd would
// substitute the unit's environment.
func TestDollarsAsSystemdRunsThem(t *testing.T) {
	ctx, conn := connect(t)
	words := []string{`$$X`, `a$$b`, `$X`, `${X}`, `a${X}b`, `a$X`, `$`, `a$`, `$1`, `$$`, `x$$$$y`, `$$${X}`, `$a-b`}
	out := "/run/def-q-dollars.out"
	os.Remove(out)
	t.Cleanup(func() { os.Remove(out) })
	unit := "def-q-dollars.service"
	text := "[Service]\nType=oneshot\nEnvironment=X=sub\nStandardOutput=append:" + out + "\n"
	for _, w := range words {
		// The word's own lines between BEGIN and END: none where
		// systemd removed it.
		text += `ExecStart=/usr/bin/printf "%%s\n" BEGIN "` + w + `" END` + "\n"
	}
	install(t, ctx, conn, map[string]string{unitDir + unit: text})
	done := make(chan string, 1)
	if _, err := conn.StartUnitContext(ctx, unit, "replace", done); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r != "done" {
		t.Fatalf("start %s: %s", unit, r)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	runs := strings.Split(strings.TrimSuffix(string(data), "END\n"), "END\n")
	if len(runs) != len(words) {
		t.Fatalf("systemd ran %q for %q", runs, words)
	}
	for i, w := range words {
		ran := strings.Split(strings.TrimSuffix(strings.TrimPrefix(runs[i], "BEGIN\n"), "\n"), "\n")
		got, err := dollars(w)
		literal := strings.ReplaceAll(w, "$$", "$")
		switch {
		case err != nil && reflect.DeepEqual(ran, []string{literal}):
			t.Errorf("%s: the reader refuses it, but systemd gives %q, no substitution", w, ran)
		case err == nil && !reflect.DeepEqual(ran, []string{got}):
			t.Errorf("%s: reader %q, systemd %q", w, got, ran)
		case err != nil:
			t.Logf("%s: refused; systemd gives %q", w, ran)
		}
	}
}

//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// event is what events --format json prints of one.
type event struct {
	Status   string
	Name     string
	ExitCode *int   `json:"ContainerExitCode"`
	Health   string `json:"HealthStatus"`
}

func (ev event) String() string {
	s := ev.Status
	if ev.ExitCode != nil {
		s += fmt.Sprintf("(%d)", *ev.ExitCode)
	}
	if ev.Health != "" {
		s += "(" + ev.Health + ")"
	}
	return s
}

// streamEvents starts events --format json for one container; the
// events it prints arrive on the channel.
func (e *env) streamEvents(name string) <-chan event {
	e.t.Helper()
	cmd := e.cmd("events", "--format", "json", "--filter", "container="+name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ch := make(chan event, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ev event
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				ch <- ev
			}
		}
		close(ch)
	}()
	// journalctl --follow must be reading before anything happens.
	time.Sleep(700 * time.Millisecond)
	return ch
}

// expectEvents reads events until want (in order, others may come
// between) are seen.
func expectEvents(t *testing.T, ch <-chan event, want ...string) {
	t.Helper()
	var seen []string
	deadline := time.After(20 * time.Second)
	for len(want) > 0 {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("events ended; saw %v, still want %v", seen, want)
			}
			seen = append(seen, ev.String())
			if ev.String() == want[0] {
				want = want[1:]
			}
		case <-deadline:
			t.Fatalf("timed out; saw %v, still want %v", seen, want)
		}
	}
}

// Events come from what systemd and the unit's steps see, so a kill and a
// stop done with systemctl show as well as ctr-unit's own.
func TestEventsSeeSystemctlAndTheCLI(t *testing.T) {
	e := newEnv(t)
	name := e.name("ev")
	ch := e.streamEvents(name)
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--health-cmd", "test -e /tmp/ok", "--health-interval", "300ms", "--health-retries", "1", "--", "sh", "-c", termable)
	expectEvents(t, ch, "create", "start", "health_status(unhealthy)")
	e.execIn(name, "touch", "/tmp/ok")
	expectEvents(t, ch, "health_status(healthy)")
	e.must("pause", name)
	e.must("unpause", name)
	expectEvents(t, ch, "pause", "unpause")
	unit := e.inspect(name).Unit
	systemctl(t, "kill", "--signal=KILL", unit)
	expectEvents(t, ch, "died(137)")
	e.waitStatus(name, "exited", 10*time.Second)
	e.must("start", name)
	systemctl(t, "stop", unit)
	expectEvents(t, ch, "start", "stop", "died(0)")
	e.must("rm", name)
	expectEvents(t, ch, "remove")

	// The same, read back from the journal.
	out := e.must("events", "--since", "2m", "--until", "0s", "--filter", "container="+name, "--filter", "event=died", "--format", "{{.Status}} {{.ContainerExitCode}}")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "died") {
		t.Errorf("events --since --until: %q, want the two deaths", out)
	}
	if r := e.ctr("events", "--filter", "colour=red"); r.code != 125 || !strings.Contains(r.stderr, "colour") {
		t.Errorf("events with a bad filter: %s", r)
	}
}

// A container the kernel's OOM killer kills shows OOMKilled in inspect,
// and an oom event. The memory controller is only in the hybrid box.
func TestOOMKilledContainer(t *testing.T) {
	if layout != "hybrid" {
		t.Skip("the v2 box has no memory controller (the host binds it to v1): run in hybrid")
	}
	e := newEnv(t)
	name := e.name("oom")
	ch := e.streamEvents(name)
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--memory", "32m", "--", "sh", "-c", "sleep 0.3; tail /dev/zero")
	expectEvents(t, ch, "oom", "died(137)")
	if out := strings.TrimSpace(e.must("wait", name)); out != "137" {
		t.Errorf("wait: %q, want 137", out)
	}
	var cs []struct{ State struct{ OOMKilled bool } }
	json.Unmarshal([]byte(e.must("inspect", name)), &cs)
	if len(cs) != 1 || !cs[0].State.OOMKilled {
		t.Errorf("inspect: %+v, want OOMKilled", cs)
	}
	if out := e.must("inspect", "--format", "{{.State.OOMKilled}}", name); strings.TrimSpace(out) != "true" {
		t.Errorf("inspect --format .State.OOMKilled: %q", out)
	}
}

// --init: catatonit is PID 1; orphans are reaped and the stop signal
// reaches the command.
func TestInitReapsZombiesAndPassesTheStopSignal(t *testing.T) {
	e := newEnv(t)
	for _, init := range []bool{false, true} {
		name := e.name(fmt.Sprintf("init-%v", init))
		args := []string{"run", "-d", "--name", name, "--rootfs", rootfs}
		if init {
			args = append(args, "--init")
		}
		e.must(append(args, "--", "sleep", "1000")...)
		// An orphan of an exec'd shell becomes a child of PID 1, which
		// must reap it once it ends.
		e.execIn(name, "sh", "-c", "sleep 0.2 & exit 0")
		time.Sleep(600 * time.Millisecond)
		zombies := strings.Count(e.execIn(name, "ps", "-o", "stat,comm"), "Z ")
		pid1 := strings.TrimSpace(e.execIn(name, "readlink", "/proc/1/exe"))
		switch {
		case init && (pid1 != "/dev/init" || zombies != 0):
			t.Errorf("with --init: pid 1 %s, %d zombies; want the init (/dev/init) and none", pid1, zombies)
		case !init && zombies != 1:
			t.Errorf("without --init: %d zombies under sleep as pid 1; the test's orphan did not become one", zombies)
		}
		e.must("rm", "-f", name)
	}
	name := e.name("init-term")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--init", "--", "sh", "-c", `trap "exit 7" TERM; sleep 1000 & wait`)
	e.must("stop", name)
	if c := e.inspect(name); c.State.ExitCode != 7 {
		t.Errorf("stopped with --init: exit code %d, want the command's 7 (SIGTERM reached it)", c.State.ExitCode)
	}
}

// Without --name a name is made up, printed and used; the hostname is the
// container's name.
func TestGeneratedNameAndHostname(t *testing.T) {
	e := newEnv(t)
	out := strings.TrimSpace(e.must("run", "-d", "--rootfs", rootfs, "--", "sh", "-c", termable))
	t.Cleanup(func() { e.ctr("rm", "-f", out) })
	if !strings.Contains(out, "_") || strings.ContainsAny(out, " \n") {
		t.Fatalf("run -d without --name printed %q, want an adjective_noun", out)
	}
	if h := strings.TrimSpace(e.execIn(out, "hostname")); h != out {
		t.Errorf("hostname %q, want the container's name %q", h, out)
	}
	name := e.name("named")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	if h := strings.TrimSpace(e.execIn(name, "hostname")); h != name {
		t.Errorf("hostname %q, want %q", h, name)
	}
}

// OCI hooks run at each stage, in order, selected by their conditions;
// poststop runs from the unit's stop step, a kill -9 of the init
// included; a malformed file is reported and left out.
func TestOCIHooksRunAtEachStage(t *testing.T) {
	e := newEnv(t)
	name := e.name("hooks")
	dir := t.TempDir()
	logDir := t.TempDir()
	log := filepath.Join(logDir, "log")
	hooksDir := filepath.Join(dir, "hooks.d")
	os.MkdirAll(hooksDir, 0o755)
	write := func(file, body string) {
		if err := os.WriteFile(filepath.Join(hooksDir, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hook := func(file, stage, script, when string) {
		write(file, fmt.Sprintf(`{"version":"1.0.0","hook":{"path":"/bin/sh","args":["sh","-c",%q]},"when":%s,"stages":[%q]}`, script, when, stage))
	}
	selected := `{"annotations":{"^com\\.example\\.hooks$":"^yes$"}}`
	for i, st := range []string{"prestart", "createRuntime", "createContainer", "poststart", "poststop"} {
		hook(fmt.Sprintf("%02d-%s.json", i+1, st), st, "echo "+st+" >>"+log, selected)
	}
	// startContainer runs in the container: its path and log are there.
	hook("06-startContainer.json", "startContainer", "echo startContainer >>/hooklog/log", selected)
	// precreate may rewrite the spec: it adds a variable.
	hook("00-precreate.json", "precreate", `echo precreate >>`+log+`; sed 's/"container=ctr-unit"/"container=ctr-unit","FROM_PRECREATE=1"/'`, selected)
	// Not for this container: the annotation does not match.
	hook("07-other.json", "prestart", "echo other >>"+log, `{"annotations":{"^com\\.example\\.hooks$":"^no$"}}`)
	hook("08-always-cmd.json", "prestart", "echo commands >>"+log, `{"commands":["^/bin/nosuch$"]}`)
	write("09-bad.json", `{"version":"1.0.0","hook":{"path":"/bin/true"},`)

	r := e.ctr("--hooks-dir", hooksDir, "run", "-d", "--name", name, "--rootfs", rootfs, "--annotation", "com.example.hooks=yes", "-v", logDir+":/hooklog", "--", "sh", "-c", termable)
	if r.code != 0 {
		t.Fatalf("run with hooks: %s", r)
	}
	if !strings.Contains(r.stderr, "09-bad.json") {
		t.Errorf("the malformed hook file is not reported: %q", r.stderr)
	}
	if out := e.execIn(name, "sh", "-c", "echo $FROM_PRECREATE"); out != "1\n" {
		t.Errorf("precreate's spec not used: FROM_PRECREATE=%q", out)
	}
	readLog := func() []string {
		data, _ := os.ReadFile(log)
		return strings.Fields(string(data))
	}
	e.must("stop", name)
	want := []string{"precreate", "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}
	if got := readLog(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("hooks ran %v, want %v", got, want)
	}
	// A kill -9 of the container's init: poststop runs all the same.
	os.Remove(log)
	e.must("start", name)
	pid := e.inspect(name).State.Pid
	exec.Command("kill", "-9", fmt.Sprint(pid)).Run()
	e.waitStatus(name, "exited", 10*time.Second)
	if got := readLog(); len(got) == 0 || got[len(got)-1] != "poststop" {
		t.Errorf("after kill -9 of the init, hooks ran %v; want poststop last", got)
	}
	// Another container is not stopped by the malformed file either.
	other := e.name("nohooks")
	e.must("--hooks-dir", hooksDir, "run", "-d", "--name", other, "--rootfs", rootfs, "--", "true")
}

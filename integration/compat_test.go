//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctr-unit/ctr-unit/units"
)

// Scripts written for podman run unchanged (issue 18): each test here is
// one behaviour podman's own system tests rely on.

// ignoresTerm is a container command that outlives its stop signal.
const ignoresTerm = `trap "" TERM; while true; do sleep 0.1; done`

// gone reports whether ctr-unit and systemd have nothing left of name.
func (e *env) gone(name string) bool {
	if strings.Contains(e.must("ps", "-a", "--format", "{{.Names}}"), name) {
		return false
	}
	out, _ := exec.Command("systemctl", "list-units", "--all", "--plain", "--no-legend", units.TransientService(name)).Output()
	return strings.TrimSpace(string(out)) == ""
}

// A command that cannot be run exits 127 (not found) or 126 (cannot be
// invoked), with runc's message, attached or not, and from start; a
// container with no command at all runs "", which is not found.
func TestCompatRunExitCodesOfCommandsThatCannotRun(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", "--name", e.name("nosuch"), "--rootfs", rootfs, "--", "/no/such/command"}, 127, `exec: "/no/such/command": stat /no/such/command: no such file or directory`},
		{[]string{"run", "--name", e.name("dir"), "--rootfs", rootfs, "--", "/etc"}, 126, `exec: "/etc": permission denied`},
		{[]string{"run", "--name", e.name("nocmd"), "--rootfs", rootfs}, 127, `exec: "": executable file not found in $PATH`},
		{[]string{"run", "-d", "--name", e.name("nosuch-d"), "--rootfs", rootfs, "--", "/no/such/command"}, 127, `stat /no/such/command: no such file or directory`},
		{[]string{"run", "-d", "--name", e.name("dir-d"), "--rootfs", rootfs, "--", "/etc"}, 126, `permission denied`},
	} {
		r := e.ctr(c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, "runc create failed") || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("ctr-unit %s: %s; want exit %d saying %q", strings.Join(c.args, " "), r, c.code, c.msg)
		}
		// Once, not again by ctr-unit after runc and the unit's step.
		if n := strings.Count(r.stderr, c.msg); n != 1 {
			t.Errorf("ctr-unit %s: the message %d times: %q", strings.Join(c.args, " "), n, r.stderr)
		}
		name := c.args[slices.Index(c.args, "--name")+1]
		var cs []struct {
			State struct {
				ExitCode int
				Error    string
			}
		}
		if err := json.Unmarshal([]byte(e.must("inspect", name)), &cs); err != nil || cs[0].State.ExitCode != c.code || !strings.Contains(cs[0].State.Error, c.msg) {
			t.Errorf("inspect %s: %+v %v; want ExitCode %d and the message in State.Error", name, cs, err, c.code)
		}
	}
	// start reports it as run does.
	name := e.name("created")
	e.must("create", "--name", name, "--rootfs", rootfs, "--", "/no/such/command")
	if r := e.ctr("start", name); r.code != 127 || !strings.Contains(r.stderr, "no such file or directory") {
		t.Errorf("start: %s; want 127", r)
	}
	// ctr-unit's own errors stay 125.
	if r := e.ctr("run", "--name", e.name("bad"), "--restart", "sometimes", "--rootfs", rootfs, "--", "true"); r.code != 125 {
		t.Errorf("bad flag: %s; want 125", r)
	}
}

// run --rm -d: the container goes once it exits, whoever stopped it; and
// --rm holds when the start fails, attached or not.
func TestCompatRunRmDetached(t *testing.T) {
	e := newEnv(t)
	// Stopped by ctr-unit stop.
	name := e.name("rm-stop")
	if out := e.must("run", "--rm", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable); strings.TrimSpace(out) != name {
		t.Errorf("run --rm -d printed %q", out)
	}
	if got := strings.TrimSpace(e.must("inspect", "--format", "{{.HostConfig.AutoRemove}} {{.State.Status}}", name)); got != "true running" {
		t.Errorf("inspect: %q, want true running", got)
	}
	// A restart is not its end.
	e.must("restart", "-t", "0", name)
	e.waitStatus(name, "running", 10*time.Second)
	e.must("stop", name)
	if !e.gone(name) {
		t.Errorf("%s is left after stop", name)
	}
	// Exiting by itself, killed, and exiting before run returns.
	for _, c := range []struct{ base, cmd, then string }{
		{"rm-exit", "sleep 1; exit 3", ""},
		{"rm-kill", termable, "kill"},
		{"rm-quick", "true", ""},
	} {
		name := e.name(c.base)
		e.must("run", "--rm", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", c.cmd)
		if c.then != "" {
			e.must(c.then, name)
		}
		e.waitFor(name+" removed", 10*time.Second, func() bool { return e.gone(name) })
	}
	// A failed start: the error and its code, and nothing left.
	name = e.name("rm-fail")
	if r := e.ctr("run", "--rm", "-d", "--name", name, "--rootfs", rootfs, "--", "/no/such"); r.code != 127 || !strings.Contains(r.stderr, "no such file or directory") {
		t.Errorf("run --rm -d of a missing command: %s; want 127", r)
	}
	if !e.gone(name) {
		t.Errorf("%s is left after its start failed", name)
	}
	// What restarts a container cannot be --rm.
	if r := e.ctr("run", "--rm", "-d", "--restart", "always", "--name", e.name("rm-always"), "--rootfs", rootfs, "--", "true"); r.code != 125 || !strings.Contains(r.stderr, "--rm conflicts with --restart always") {
		t.Errorf("--rm --restart always: %s", r)
	}
	// create --rm too: a transient unit, gone with the container.
	name = e.name("rm-create")
	e.must("create", "--rm", "--name", name, "--rootfs", rootfs, "--", "true")
	e.must("start", name)
	e.waitFor(name+" removed", 10*time.Second, func() bool { return e.gone(name) })
}

func TestCompatRunRmAttached(t *testing.T) {
	e := newEnv(t)
	name := e.name("rm-exit")
	if r := e.ctr("run", "--rm", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", "echo out; exit 3"); r.code != 3 || r.stdout != "out\n" {
		t.Errorf("run --rm: %s; want exit 3 and the output", r)
	}
	if !e.gone(name) {
		t.Errorf("%s is left", name)
	}
	name = e.name("rm-fail")
	if r := e.ctr("run", "--rm", "--name", name, "--rootfs", rootfs, "--", "/no/such"); r.code != 127 {
		t.Errorf("run --rm of a missing command: %s; want 127", r)
	}
	if !e.gone(name) {
		t.Errorf("%s is left after its start failed", name)
	}
	// The attached CLI killed: the unit removes the container itself.
	name = e.name("rm-orphan")
	c := e.cmd("run", "--rm", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	// A file, not a pipe: the container holds the CLI's output open, and
	// a pipe would keep Wait waiting for it.
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// A failure below must neither leave the attached CLI behind nor
	// leave it unreaped for the next test's process checks to find.
	defer func() {
		_ = c.Process.Kill()
		_ = c.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("the attached run printed: %q", b)
		}
	}()
	e.waitStatus(name, "running", 10*time.Second)
	_ = c.Process.Kill()
	_ = c.Wait()
	e.must("stop", name)
	if !e.gone(name) {
		t.Errorf("%s is left after its attached CLI was killed and it stopped", name)
	}
}

// -w with a directory the image lacks fails (126) unless a mount makes it;
// an image's own working directory is made.
func TestCompatWorkdirMustExist(t *testing.T) {
	e := newEnv(t)
	vol := t.TempDir()
	r := e.ctr("run", "--rm", "--name", e.name("nowd"), "-w", "/i/do/not/exist", "--rootfs", rootfs, "--", "pwd")
	if r.code != 126 || !strings.Contains(r.stderr, `workdir "/i/do/not/exist" does not exist on container`) {
		t.Errorf("missing -w: %s; want 126", r)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "i")); err == nil {
		t.Error("the missing working directory was made in the rootfs")
	}
	for _, c := range []struct{ wd, vol string }{{"/at", vol + ":/at"}, {"/above", vol + ":/above/sub"}, {"/tmp", ""}} {
		args := []string{"run", "--rm", "--name", e.name("wd"), "-w", c.wd}
		if c.vol != "" {
			args = append(args, "-v", c.vol)
		}
		if r := e.ctr(append(args, "--rootfs", rootfs, "--", "pwd")...); r.code != 0 || strings.TrimSpace(r.stdout) != c.wd {
			t.Errorf("-w %s -v %s: %s", c.wd, c.vol, r)
		}
	}
	e.must("image", "load", "-i", testImage(t, "oci", "wd:1", v1.ImageConfig{Cmd: []string{"pwd"}, WorkingDir: "/made/by/runc"}, nil))
	if r := e.ctr("run", "--rm", "--name", e.name("imgwd"), "wd:1"); r.code != 0 || strings.TrimSpace(r.stdout) != "/made/by/runc" {
		t.Errorf("image working directory: %s", r)
	}
	// Given by the user for an image, it must exist there too.
	if r := e.ctr("run", "--rm", "--name", e.name("imgwd2"), "-w", "/nope", "wd:1"); r.code != 126 {
		t.Errorf("-w /nope with an image: %s; want 126", r)
	}
}

// docker's /NAME is NAME.
func TestCompatNameWithLeadingSlash(t *testing.T) {
	e := newEnv(t)
	name := e.name("slash")
	if out := e.must("create", "--name", "/"+name, "--rootfs", rootfs, "--", "true"); strings.TrimSpace(out) != name {
		t.Errorf("create printed %q, want %s", out, name)
	}
	if got := strings.TrimSpace(e.must("ps", "-a", "--filter", "name="+name, "--format", "{{.Names}}")); got != name {
		t.Errorf("ps: %q", got)
	}
	e.must("start", name)
	e.waitStatus(name, "exited", 10*time.Second)
	e.must("rm", name)
}

// rm -f is idempotent; rm of a missing container exits 1, of a running
// one 2, as podman's.
func TestCompatRmExitCodes(t *testing.T) {
	e := newEnv(t)
	missing, live := e.name("ghost"), e.name("live")
	if r := e.ctr("rm", "-f", missing); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("rm -f of a missing container: %s; want exit 0, nothing printed", r)
	}
	e.must("run", "-d", "--name", live, "--rootfs", rootfs, "--", "sh", "-c", termable)
	if r := e.ctr("rm", live); r.code != 2 || !strings.Contains(r.stderr, "is running") {
		t.Errorf("rm of a running container: %s; want 2", r)
	}
	if r := e.ctr("rm", "-f", missing, live); r.code != 0 || strings.TrimSpace(r.stdout) != live {
		t.Errorf("rm -f missing existing: %s; want exit 0 naming %s", r, live)
	}
	if !e.gone(live) {
		t.Errorf("%s is left", live)
	}
	if r := e.ctr("rm", missing); r.code != 1 || !strings.Contains(r.stderr, `no container with name or ID "`+missing+`" found: no such container`) {
		t.Errorf("rm of a missing container: %s; want 1, no such container", r)
	}
	// volume rm and rmi alike.
	vol := e.name("vol")
	e.must("create", "--name", e.name("user"), "-v", vol+":/data", "--rootfs", rootfs, "--", "true")
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"volume", "rm", e.name("novol")}, 1},
		{[]string{"volume", "rm", vol}, 2},
		{[]string{"volume", "rm", vol, e.name("novol")}, 1},
		{[]string{"rmi", "no-such-image:1"}, 1},
	} {
		if r := e.ctr(c.args...); r.code != c.code {
			t.Errorf("%s: %s; want %d", strings.Join(c.args, " "), r, c.code)
		}
	}
	e.must("rm", e.name("user"))
	e.must("volume", "rm", vol)
}

// timedStop runs stop with args and returns how long it took and what it
// said.
func (e *env) timedStop(args ...string) (time.Duration, result) {
	start := time.Now()
	r := e.ctr(append([]string{"stop"}, args...)...)
	return time.Since(start), r
}

const killWarning = "StopSignal SIGTERM failed to stop container %s in %d seconds, resorting to SIGKILL"

// stop -t N waits N seconds before SIGKILL, longer or shorter than the
// container's own stop timeout, and says so when it comes to SIGKILL.
func TestCompatStopTimeout(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		own, asked int
	}{
		{1, 3}, // longer: systemd's timeout of this stop is extended
		{8, 1}, // shorter: ctr-unit kills
	} {
		name := e.name(fmt.Sprintf("stop-%d-%d", c.own, c.asked))
		e.must("run", "-d", "--name", name, "--stop-timeout", fmt.Sprint(c.own), "--rootfs", rootfs, "--", "sh", "-c", ignoresTerm)
		took, r := e.timedStop("-t", fmt.Sprint(c.asked), name)
		t.Logf("stop -t %d of a container with --stop-timeout %d: %v", c.asked, c.own, took)
		want := time.Duration(c.asked) * time.Second
		if r.code != 0 || took < want || took > want+4*time.Second {
			t.Errorf("stop -t %d (own %d): %s after %v; want about %v", c.asked, c.own, r, took, want)
		}
		if !strings.Contains(r.stderr, fmt.Sprintf(killWarning, name, c.asked)) {
			t.Errorf("stop -t %d: no SIGKILL warning: %q", c.asked, r.stderr)
		}
		if code := e.inspect(name).State.ExitCode; code != 137 {
			t.Errorf("exit code %d, want 137", code)
		}
	}
	// The container's own timeout, and one that ends in time: a warning
	// only for the first.
	name := e.name("stop-own")
	e.must("run", "-d", "--name", name, "--stop-timeout", "1", "--rootfs", rootfs, "--", "sh", "-c", ignoresTerm)
	if _, r := e.timedStop(name); !strings.Contains(r.stderr, fmt.Sprintf(killWarning, name, 1)) {
		t.Errorf("stop after the own timeout: %s", r)
	}
	name = e.name("stop-clean")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	if took, r := e.timedStop("-t", "20", name); r.code != 0 || r.stderr != "" || took > 10*time.Second {
		t.Errorf("stop -t 20 of a container that ends on SIGTERM: %s after %v", r, took)
	}
	name = e.name("stop-zero")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", ignoresTerm)
	if _, r := e.timedStop("-t", "0", name); r.code != 0 || r.stderr != "" {
		t.Errorf("stop -t 0: %s; want no warning, as podman", r)
	}
}

// kill reaches a container whose stop is waiting for it to end.
func TestCompatKillWhileStopping(t *testing.T) {
	e := newEnv(t)
	name := e.name("hang")
	e.must("run", "-d", "--name", name, "--stop-timeout", "60", "--rootfs", rootfs, "--", "sh", "-c", ignoresTerm)
	stop := e.cmd("stop", name)
	var stderr strings.Builder
	stop.Stderr = &stderr
	start := time.Now()
	if err := stop.Start(); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(name, "stopping", 10*time.Second)
	if r := e.ctr("kill", name); r.code != 0 || strings.TrimSpace(r.stdout) != name {
		t.Errorf("kill of a stopping container: %s", r)
	}
	if err := stop.Wait(); err != nil {
		t.Errorf("stop: %v: %s", err, stderr.String())
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("stop returned after %v: the kill did not end it", took)
	}
	if strings.Contains(stderr.String(), "resorting to SIGKILL") {
		t.Errorf("the user's kill reported as the stop's: %q", stderr.String())
	}
	if code := e.inspect(name).State.ExitCode; code != 137 {
		t.Errorf("exit code %d, want 137", code)
	}
}

func TestCompatPsShowsPaused(t *testing.T) {
	e := newEnv(t)
	name := e.name("paused")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	e.must("pause", name)
	if got := strings.TrimSpace(e.must("ps", "--format", "{{.Status}}|{{.State}}")); got != "Paused|paused" {
		t.Errorf("ps of a paused container: %q, want Paused|paused", got)
	}
	if ps := e.must("ps"); !regexp.MustCompile(`\sPaused\s`).MatchString(ps) {
		t.Errorf("ps:\n%s", ps)
	}
	e.must("unpause", name)
}

// Templates written for podman's ps and inspect work, and so do the names
// ctr-unit had.
func TestCompatFormatFields(t *testing.T) {
	e := newEnv(t)
	name := e.name("fmt")
	e.must("run", "-d", "--name", name, "--label", "app=web", "--health-cmd", "true", "--health-interval", "1m",
		"--health-timeout", "5s", "--health-on-failure", "kill", "--health-startup-cmd", "true", "--health-startup-success", "2",
		"--rootfs", rootfs, "--", "sh", "-c", termable)
	full := strings.TrimSpace(e.must("inspect", "--format", "{{.ID}}", name))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(full) || strings.TrimSpace(e.must("inspect", "--format", "{{.Id}}", name)) != full {
		t.Fatalf("inspect .ID %q", full)
	}
	ps := e.must("ps", "--format", "{{.ID}}|{{.Names}}|{{.State}}|{{.Status}}|{{.Image}}|{{.Command}}|{{.Labels}}|{{.Ports}}|{{.Name}}|{{.State.Status}}|{{.Unit}}")
	want := full[:12] + "|" + name + "|running|Up ||sh -c trap \"exit ...|map[app:web]||" + name + "|running|" + units.TransientService(name)
	if got := regexp.MustCompile(`\|Up [^|]*\|`).ReplaceAllString(strings.TrimSpace(ps), "|Up |"); got != want {
		t.Errorf("ps template:\n got %s\nwant %s", got, want)
	}
	if got := e.must("ps", "--no-trunc", "--format", "{{.ID}} {{.CreatedAt}}"); !strings.HasPrefix(got, full+" 20") {
		t.Errorf("ps --no-trunc: %q", got)
	}
	if got := e.must("ps", "--format", "{{json .Labels}}"); strings.TrimSpace(got) != `{"app":"web"}` {
		t.Errorf("{{json .Labels}}: %q", got)
	}
	for _, format := range []string{"json", "{{json .}}"} {
		var list []struct {
			ID     string `json:"Id"`
			Names  []string
			State  string
			Labels map[string]string
		}
		if err := json.Unmarshal([]byte(e.must("ps", "--format", format)), &list); err != nil || len(list) != 1 || list[0].ID != full || list[0].Names[0] != name || list[0].State != "running" || list[0].Labels["app"] != "web" {
			t.Errorf("ps --format %s: %+v %v", format, list, err)
		}
	}
	table := strings.Split(strings.TrimSpace(e.must("ps", "--format", "table {{.ID}}\t{{.Names}}")), "\n")
	if len(table) != 2 || !regexp.MustCompile(`^CONTAINER ID\s+NAMES$`).MatchString(table[0]) || strings.Fields(table[1])[1] != name {
		t.Errorf("table:\n%s", strings.Join(table, "\n"))
	}
	got := e.must("inspect", "--format", "{{.Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Timeout}} {{.Config.Healthcheck.Retries}} {{.Config.HealthcheckOnFailureAction}} {{.Config.StartupHealthCheck.Successes}} {{.Config.Labels.app}}", name)
	if strings.TrimSpace(got) != "[CMD-SHELL true] 1m0s 5s 3 kill 2 web" {
		t.Errorf("inspect healthcheck fields: %q", got)
	}
	var in []struct {
		Config struct {
			Healthcheck struct {
				Test     []string
				Interval int64
			}
		}
	}
	if err := json.Unmarshal([]byte(e.must("inspect", name)), &in); err != nil || in[0].Config.Healthcheck.Interval != int64(time.Minute) {
		t.Errorf("inspect JSON Healthcheck: %+v %v; want the interval in nanoseconds, as podman", in, err)
	}
}

// --label, --label-file and a file's Label=, and ps --filter.
func TestCompatLabelsAndFilters(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	labels := filepath.Join(t.TempDir(), "labels")
	if err := os.WriteFile(labels, []byte("# team\nteam=ops\ntier=file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	web, db, def := e.name("web"), e.name("db"), e.name("def")
	e.must("run", "-d", "--name", web, "--label", "tier=front", "--label-file", labels, "-l", "io.containers.autoupdate=registry", "--rootfs", rootfs, "--", "sh", "-c", termable)
	e.must("create", "--name", db, "--label", "tier=back", "--rootfs", rootfs, "--", "true")
	e.defineFile(def, fmt.Sprintf("[Container]\nRootfs=%s\nExec=true\nLabel=tier=front \"note=two words\"\nLabel=bare\n", rootfs))
	if got := strings.TrimSpace(e.must("inspect", "--format", "{{json .Config.Labels}}", web)); got != `{"io.containers.autoupdate":"registry","team":"ops","tier":"front"}` {
		t.Errorf("labels of %s: %s (--label over the file's)", web, got)
	}
	if got := strings.TrimSpace(e.must("inspect", "--format", "{{json .Config.Labels}}", def)); got != `{"bare":"","note":"two words","tier":"front"}` {
		t.Errorf("labels of %s: %s", def, got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-a", "--filter", "label=tier=front"}, def + " " + web},
		{[]string{"-a", "--filter", "label=tier"}, db + " " + def + " " + web},
		{[]string{"-a", "--filter", "label=io.containers.autoupdate"}, web},
		{[]string{"-a", "--filter", "label=tier=front", "--filter", "label=team"}, web},
		{[]string{"-a", "--filter", "name=" + e.prefix + "d"}, db + " " + def},
		{[]string{"--filter", "status=created"}, db + " " + def},
		{[]string{"--filter", "status=running", "--filter", "status=created"}, db + " " + def + " " + web},
		{[]string{"--filter", "label=tier"}, web},
	} {
		got := strings.Join(strings.Fields(e.must(append(append([]string{"ps"}, c.args...), "--format", "{{.Names}}")...)), " ")
		if got != c.want {
			t.Errorf("ps %s: %q, want %q", strings.Join(c.args, " "), got, c.want)
		}
	}
	if r := e.ctr("ps", "--filter", "colour=red"); r.code != 125 || !strings.Contains(r.stderr, "colour is an invalid filter") {
		t.Errorf("bad filter: %s", r)
	}
}

// healthcheck run: 1 and "unhealthy" for a failed check, retries or not;
// 0 for a passing one; the check's output in the order it was written;
// State.Health always there.
func TestCompatHealthcheckRunResults(t *testing.T) {
	e := newEnv(t)
	name := e.name("hc")
	e.must("create", "--name", name, "--health-cmd", "test -e /tmp/ok", "--health-interval", "disable", "--health-retries", "3",
		"--rootfs", rootfs, "--", "sh", "-c", termable)
	if got := e.must("inspect", "--format", "{{.State.Health.Status}}|{{.State.Health.FailingStreak}}", name); strings.TrimSpace(got) != "|0" {
		t.Errorf("health of a created container: %q", got)
	}
	e.must("start", name)
	if got := e.must("inspect", "--format", "{{.State.Health.Status}}", name); strings.TrimSpace(got) != "starting" {
		t.Errorf("health before the first check: %q", got)
	}
	for i := 1; i <= 2; i++ {
		if r := e.ctr("healthcheck", "run", name); r.code != 1 || r.stdout != "unhealthy\n" {
			t.Errorf("failing check %d (retries 3): %s; want 1 and unhealthy", i, r)
		}
	}
	if h := e.health(name); h.Status != "starting" || h.FailingStreak != 2 {
		t.Errorf("after two failures: %+v", h)
	}
	e.execIn(name, "touch", "/tmp/ok")
	if r := e.ctr("healthcheck", "run", name); r.code != 0 || r.stdout != "" {
		t.Errorf("passing check: %s; want 0, nothing printed", r)
	}

	// stdout and stderr as one stream, in order.
	mixed := e.name("mixed")
	e.must("run", "-d", "--name", mixed, "--health-cmd", "echo 1; echo 2 >&2; echo 3; echo 4 >&2; echo 5", "--health-interval", "disable",
		"--rootfs", rootfs, "--", "sh", "-c", termable)
	for range 10 {
		e.must("healthcheck", "run", mixed)
		log := e.health(mixed).Log
		if out := log[len(log)-1].Output; out != "1\n2\n3\n4\n5\n" {
			t.Fatalf("check output %q, want the lines in the order written", out)
		}
	}
}

// A check the container's stop interrupts exits 1, prints "stopped", and
// is not counted.
func TestCompatHealthcheckInterruptedByStop(t *testing.T) {
	e := newEnv(t)
	name := e.name("hcstop")
	e.must("run", "-d", "--name", name, "--health-cmd", "sleep 5; exit 1", "--health-interval", "disable",
		"--rootfs", rootfs, "--", "sh", "-c", termable)
	check := e.cmd("healthcheck", "run", name)
	var out strings.Builder
	check.Stdout = &out
	if err := check.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	e.must("stop", name)
	err := check.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 1 || out.String() != "stopped\n" {
		t.Errorf("check interrupted by stop: exit %d, %q; want 1, stopped", code, out.String())
	}
	if got := e.must("inspect", "--format", "{{.State.Health.Status}}|{{.State.Health.FailingStreak}}|{{len .State.Health.Log}}", name); strings.TrimSpace(got) != "|0|0" {
		t.Errorf("health after the interrupted check: %q; want nothing recorded", got)
	}
}

// With --health-on-failure=kill, the check that turns the container
// unhealthy kills it and still reports: it is never killed with it.
func TestCompatHealthOnFailureKillReports(t *testing.T) {
	e := newEnv(t)
	name := e.name("hckill")
	e.must("run", "-d", "--name", name, "--restart", "always", "--health-cmd", "false", "--health-interval", "disable",
		"--health-retries", "1", "--health-on-failure", "kill", "--rootfs", rootfs, "--", "sh", "-c", termable)
	for i := range 8 {
		e.waitStatus(name, "running", 10*time.Second)
		if r := e.ctr("healthcheck", "run", name); r.code != 1 || r.stdout != "unhealthy\n" {
			t.Fatalf("check %d: %s; want 1 and unhealthy", i, r)
		}
		e.waitFor(fmt.Sprintf("restart %d", i+1), 10*time.Second, func() bool { return e.inspect(name).RestartCount == i+1 })
	}
}

// --env NAME passes the caller's variable (not one it lacks); a file's
// Environment=NAME the unit's, as quadlet does.
func TestCompatEnvFromTheEnvironment(t *testing.T) {
	e := newEnv(t)
	c := e.cmd("run", "--rm", "--name", e.name("env"), "-e", "FROM_CALLER", "-e", "NOT_SET_ANYWHERE", "-e", "PFX_*", "-e", "X=1", "--rootfs", rootfs, "--", "env")
	c.Env = append(os.Environ(), "FROM_CALLER=hello", "PFX_A=a", "PFX_B=b")
	out, err := c.Output()
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{"FROM_CALLER=hello", "PFX_A=a", "PFX_B=b", "X=1"} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("the container's environment lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "NOT_SET_ANYWHERE") {
		t.Errorf("an unset variable was passed:\n%s", out)
	}

	e.installTemplate()
	name := e.name("envdef")
	dir := t.TempDir()
	e.defineFile(name, fmt.Sprintf("[Container]\nRootfs=%s\nVolume=%s:/out\nExec=sh -c 'env >/out/env'\nEnvironment=FROM_UNIT NOT_SET_ANYWHERE Y=2\n[Service]\nEnvironment=FROM_UNIT=unit-value\n", rootfs, dir))
	systemctl(t, "daemon-reload")
	systemctl(t, "start", units.TemplateInstance(name))
	e.waitFor("the container's environment", 10*time.Second, func() bool {
		data, err := os.ReadFile(filepath.Join(dir, "env"))
		return err == nil && len(data) > 0
	})
	data, _ := os.ReadFile(filepath.Join(dir, "env"))
	if !strings.Contains(string(data), "FROM_UNIT=unit-value\n") || !strings.Contains(string(data), "Y=2\n") || strings.Contains(string(data), "NOT_SET_ANYWHERE") {
		t.Errorf("a file's Environment=NAME is not the unit's:\n%s", data)
	}
}

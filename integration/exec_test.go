//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// execIn runs ctr-unit exec and fails the test unless it succeeds.
func (e *env) execIn(name string, args ...string) string {
	e.t.Helper()
	return e.must(append([]string{"exec", name}, args...)...)
}

func TestExecRunsInTheContainerWithPodmansExitCodes(t *testing.T) {
	e := newEnv(t)
	name := e.name("ex")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "-e", "FROM_RUN=1", "--", "sh", "-c", termable)

	// The container's namespaces: its own pid 1, its hostname, its env.
	// The container's pid namespace (its pid 1 is the container's sh) and
	// environment.
	if out := e.execIn(name, "sh", "-c", `echo $FROM_RUN; tr "\0" " " </proc/1/cmdline`); !strings.HasPrefix(out, "1\nsh -c trap") {
		t.Errorf("exec sees %q, want the container's env and pid namespace", out)
	}
	envFile := filepath.Join(t.TempDir(), "env")
	os.WriteFile(envFile, []byte("# comment\nFROM_FILE=2\n\nFROM_RUN=3\n"), 0o644)
	if out := e.must("exec", "-e", "FROM_FLAG=4", "--env-file", envFile, name, "sh", "-c", "echo $FROM_FILE $FROM_RUN $FROM_FLAG"); out != "2 3 4\n" {
		t.Errorf("exec with --env-file and -e printed %q, want \"2 3 4\"", out)
	}
	if out := e.must("exec", "-u", "1000:1000", "-w", "/tmp", name, "sh", "-c", "id -u; id -g; pwd"); out != "1000\n1000\n/tmp\n" {
		t.Errorf("exec -u 1000:1000 -w /tmp printed %q", out)
	}
	// Input only with -i.
	c := e.cmd("exec", "-i", name, "cat")
	c.Stdin = strings.NewReader("piped\n")
	if out, err := c.Output(); err != nil || string(out) != "piped\n" {
		t.Errorf("exec -i cat: %q, %v", out, err)
	}
	c = e.cmd("exec", name, "cat")
	c.Stdin = strings.NewReader("not for you\n")
	if out, err := c.Output(); err != nil || string(out) != "" {
		t.Errorf("exec without -i read the caller's input: %q, %v", out, err)
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"sh", "-c", "exit 7"}, 7, ""},
		{[]string{"sh", "-c", "kill -9 $$"}, 137, ""},
		{[]string{"no-such-command"}, 127, "not found"},
		{[]string{"/etc/passwd"}, 126, "cannot be invoked"},
	} {
		r := e.ctr(append([]string{"exec", name}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("exec %v: %s, want exit %d and %q", tc.args, r, tc.code, tc.msg)
		}
	}

	// The process lives in the unit's cgroup: stats count it and a stop
	// of the unit ends it.
	unit := e.inspect(name).Unit
	out := e.must("exec", "-d", name, "sleep", "1000")
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("exec -d printed %q, want a pid", out)
	}
	if pids := cgroupPids(t, unitProperty(t, unit, "ControlGroup")); !slices.Contains(pids, pid) {
		t.Errorf("exec'd process %d is not in the unit's cgroup: %v", pid, pids)
	}
	if top := e.must("top", name); !strings.Contains(top, "sleep 1000") || !strings.Contains(top, strconv.Itoa(pid)) || !strings.Contains(top, "PID") {
		t.Errorf("top does not list the exec'd process %d:\n%s", pid, top)
	}
	if top := e.must("top", name, "-o", "pid="); len(strings.Fields(top)) != 3 {
		t.Errorf("top -o pid= lists %q, want the container's 2 processes and the exec'd one", top)
	}
	systemctl(t, "stop", unit)
	if pidAlive(pid) {
		t.Errorf("exec'd process %d survived systemctl stop %s", pid, unit)
	}

	// Stopped and paused containers are refused, by name.
	r := e.ctr("exec", name, "true")
	if r.code != 125 || !strings.Contains(r.stderr, name) || !strings.Contains(r.stderr, "start it first") {
		t.Errorf("exec into a stopped container: %s", r)
	}
	e.must("start", name)
	e.must("pause", name)
	r = e.ctr("exec", name, "true")
	if r.code != 125 || !strings.Contains(r.stderr, "unpause") {
		t.Errorf("exec into a paused container: %s", r)
	}
	e.must("unpause", name)
	if r := e.ctr("exec", e.name("nosuch"), "true"); r.code != 125 {
		t.Errorf("exec into a container that does not exist: %s", r)
	}
}

func TestExecPrivilegedGetsEveryCapability(t *testing.T) {
	e := newEnv(t)
	name := e.name("priv")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	capEff := func(flags ...string) string {
		out := e.must(append(append(append([]string{"exec"}, flags...), name), "sh", "-c", "grep CapEff /proc/self/status")...)
		return strings.TrimSpace(strings.TrimPrefix(out, "CapEff:"))
	}
	plain, priv := capEff(), capEff("--privileged")
	if plain == priv || !strings.HasPrefix(priv, "000001") {
		t.Errorf("CapEff plain %s, privileged %s: want more capabilities with --privileged", plain, priv)
	}
}

// tmuxSession runs command in a detached tmux session of 80x24 and
// returns a function that runs tmux commands against it, and one that
// reads the screen.
func tmuxSession(t *testing.T, e *env, command string) (tmux func(args ...string) string, screen func() string) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt-get install tmux)")
	}
	session := strings.TrimSuffix(e.prefix, "-") + "tty"
	sock := filepath.Join(t.TempDir(), "tmux")
	tmux = func(args ...string) string {
		t.Helper()
		for i, a := range args {
			if a == "TARGET" {
				args[i] = session
			}
		}
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", command)
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	return tmux, func() string { return tmux("capture-pane", "-p", "-t", session) }
}

// driveShell types into a shell on a terminal as a user would: edits a
// line, reads the window size before and after a resize, interrupts a
// command with Ctrl-C, and leaves with exit 5.
func driveShell(t *testing.T, e *env, tmux func(...string) string, screen func() string) {
	t.Helper()
	e.waitFor("the shell's prompt", 10*time.Second, func() bool { return strings.Contains(screen(), "#") })
	// Line editing: the typo is erased with backspaces before Enter.
	tmux("send-keys", "-t", "TARGET", "echo helXX", "BSpace", "BSpace", "lo-tty; tty", "Enter")
	e.waitFor("the echo", 5*time.Second, func() bool { return strings.Contains(screen(), "hello-tty") })
	if s := screen(); !strings.Contains(s, "/dev/pts/") || strings.Contains(s, "not a tty") {
		t.Errorf("the process has no terminal:\n%s", s)
	}
	// The window size, and its change.
	tmux("send-keys", "-t", "TARGET", "stty size", "Enter")
	e.waitFor("stty size 24 80", 5*time.Second, func() bool { return strings.Contains(screen(), "24 80") })
	tmux("resize-window", "-t", "TARGET", "-x", "100", "-y", "30")
	tmux("send-keys", "-t", "TARGET", "clear; stty size", "Enter")
	e.waitFor("stty size 30 100 after the resize", 5*time.Second, func() bool { return strings.Contains(screen(), "30 100") })
	// Ctrl-C interrupts the foreground command, not the session.
	tmux("send-keys", "-t", "TARGET", "clear; sleep 100", "Enter")
	time.Sleep(300 * time.Millisecond)
	tmux("send-keys", "-t", "TARGET", "C-c")
	tmux("send-keys", "-t", "TARGET", "echo still-here", "Enter")
	e.waitFor("the shell after Ctrl-C", 5*time.Second, func() bool { return strings.Contains(screen(), "still-here") })
	tmux("send-keys", "-t", "TARGET", "exit 5", "Enter")
}

// exitCodeFile waits for the exit code a tmux session's command wrote.
func exitCodeFile(t *testing.T, e *env, file string) string {
	t.Helper()
	e.waitFor("the exit code", 10*time.Second, func() bool {
		data, _ := os.ReadFile(file)
		return len(data) > 0
	})
	data, _ := os.ReadFile(file)
	return strings.TrimSpace(string(data))
}

// The terminal of exec -it, driven through tmux as a user would.
func TestExecTerminalThroughTmux(t *testing.T) {
	e := newEnv(t)
	name := e.name("tty")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	codeFile := filepath.Join(t.TempDir(), "code")
	cmd := strings.Join([]string{binary, "--state-dir", e.stateDir, "--runtime-dir", e.runtimeDir, "exec", "-it", name, "sh"}, " ") + "; echo $? >" + codeFile + "; sleep 100"
	tmux, screen := tmuxSession(t, e, cmd)
	driveShell(t, e, tmux, screen)
	if code := exitCodeFile(t, e, codeFile); code != "5" {
		t.Errorf("exec -it exited %q, want the shell's 5", code)
	}
	if r := e.ctr("exec", "-d", "-t", name, "true"); r.code != 125 || !strings.Contains(r.stderr, "terminal") {
		t.Errorf("exec -d -t: %s", r)
	}
}

// run -it: the container's own terminal, held by the attached run; the
// container's exit code is run's.
func TestRunInteractiveTerminalThroughTmux(t *testing.T) {
	e := newEnv(t)
	name := e.name("runit")
	codeFile := filepath.Join(t.TempDir(), "code")
	cmd := strings.Join([]string{binary, "--state-dir", e.stateDir, "--runtime-dir", e.runtimeDir, "run", "-it", "--name", name, "--rootfs", rootfs, "--", "sh"}, " ") + "; echo $? >" + codeFile + "; sleep 100"
	tmux, screen := tmuxSession(t, e, cmd)
	driveShell(t, e, tmux, screen)
	if code := exitCodeFile(t, e, codeFile); code != "5" {
		t.Errorf("run -it exited %q, want the shell's 5", code)
	}
	if c := e.inspect(name); c.State.Status != "exited" || c.State.ExitCode != 5 {
		t.Errorf("after run -it: %+v", c.State)
	}
	// Nothing holds a terminal for a container started otherwise.
	if r := e.ctr("start", name); r.code != 125 || !strings.Contains(r.stderr, "run -it") {
		t.Errorf("start of a container with a terminal: %s", r)
	}
	if r := e.ctr("run", "-d", "-t", "--name", e.name("dt"), "--rootfs", rootfs, "--", "sh"); r.code != 125 || !strings.Contains(r.stderr, "terminal") {
		t.Errorf("run -d -t: %s", r)
	}
}

// attach follows a running container's output until it exits, with its
// exit code.
func TestAttachFollowsOutputToTheExit(t *testing.T) {
	e := newEnv(t)
	name := e.name("att")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", "sleep 1; echo one; echo two; sleep 0.5; exit 4")
	r := e.ctr("attach", name)
	if r.code != 4 || r.stdout != "one\ntwo\n" {
		t.Errorf("attach: %s, want one, two and exit 4", r)
	}
	if r := e.ctr("attach", name); r.code != 125 || !strings.Contains(r.stderr, "exited") {
		t.Errorf("attach to an exited container: %s", r)
	}
}

// Shell completion (cobra's __complete, which the bash, zsh and fish
// scripts call) offers container, image and network names.
func TestCompletionOffersNames(t *testing.T) {
	e := newEnv(t)
	name := e.name("comp")
	e.must("create", "--name", name, "--rootfs", rootfs, "--", "true")
	complete := func(args ...string) []string {
		out := e.must(append([]string{"__complete"}, args...)...)
		var words []string
		for _, l := range strings.Split(out, "\n") {
			if l != "" && !strings.HasPrefix(l, ":") && !strings.HasPrefix(l, "Completion ended") {
				words = append(words, strings.SplitN(l, "\t", 2)[0])
			}
		}
		return words
	}
	if got := complete("exec", e.prefix); !slices.Contains(got, name) {
		t.Errorf("exec completes %v, want %s", got, name)
	}
	if got := complete("exec", name, ""); slices.Contains(got, name) {
		t.Errorf("exec's command completes container names: %v", got)
	}
	if got := complete("cp", e.prefix); !slices.Contains(got, name+":") {
		t.Errorf("cp completes %v, want %s:", got, name)
	}
	if got := complete("run", "--network", ""); !slices.Contains(got, "host") || !slices.Contains(got, "none") {
		t.Errorf("--network completes %v", got)
	}
	e.must("image", "load", "-i", testImage(t, "oci", "compimg:1", appConfig, nil))
	if got := complete("rmi", ""); !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "compimg") }) {
		t.Errorf("rmi completes %v, want the image's name", got)
	}
	e.must("rmi", "compimg:1")
}

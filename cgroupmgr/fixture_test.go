package cgroupmgr

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A fixture is a fresh cgroup "/ctrunit-test-<random>" directly below the
// test process's own cgroup in each hierarchy it uses, and a Manager whose
// root makes that the container path. On v1 the root is a temporary
// directory of symlinks, one per hierarchy, pointing at this process's
// cgroup there: the process's cgroups differ between hierarchies (memory
// is nested, the others are at /), and a Manager takes one path for all.
type fixture struct {
	m    *Manager
	path string            // container cgroup path given to the Manager
	dirs map[string]string // hierarchy name -> real directory of path
}

// v1Hierarchies are those the v1 fixture uses. cpuset is left out: a new
// cpuset cgroup has no CPUs and refuses tasks until configured.
var v1Hierarchies = []string{"systemd", "freezer", "cpu", "cpuacct", "memory", "pids", "unified"}

func requireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to create cgroups")
	}
}

func randomName(tb testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return "ctrunit-test-" + hex.EncodeToString(b)
}

// ownCgroups maps hierarchy directory names under /sys/fs/cgroup to this
// process's cgroup in them, from /proc/self/cgroup.
func ownCgroups(tb testing.TB) map[string]string {
	tb.Helper()
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	own := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch ctrls := parts[1]; {
		case ctrls == "":
			own["unified"] = parts[2]
		case strings.HasPrefix(ctrls, "name="):
			own[strings.TrimPrefix(ctrls, "name=")] = parts[2]
		default:
			for _, c := range strings.Split(ctrls, ",") {
				own[c] = parts[2]
			}
		}
	}
	return own
}

func newV1Fixture(tb testing.TB) *fixture {
	tb.Helper()
	requireRoot(tb)
	if mode := Detect(); mode != Hybrid && mode != Legacy {
		tb.Skipf("host cgroup layout is %v, not v1/hybrid", mode)
	}
	if !isHierarchy(filepath.Join(DefaultRoot, "freezer")) {
		tb.Skip("v1 freezer hierarchy not mounted")
	}
	own := ownCgroups(tb)
	root := tb.TempDir()
	f := &fixture{path: "/" + randomName(tb), dirs: map[string]string{}}
	for _, h := range v1Hierarchies {
		base, ok := own[h]
		mount := filepath.Join(DefaultRoot, h)
		if !ok || !isHierarchy(mount) {
			continue
		}
		target := filepath.Join(mount, base)
		if err := os.Symlink(target, filepath.Join(root, h)); err != nil {
			tb.Fatal(err)
		}
		dir := filepath.Join(target, f.path)
		if err := os.Mkdir(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		f.dirs[h] = dir
		tb.Cleanup(func() { destroyCgroup(tb, dir) })
	}
	f.m = New(Hybrid, WithRoot(root))
	return f
}

func newV2Fixture(tb testing.TB) *fixture {
	tb.Helper()
	requireRoot(tb)
	mount := DefaultRoot
	switch Detect() {
	case Unified:
	case Hybrid:
		mount = filepath.Join(DefaultRoot, "unified")
	default:
		tb.Skip("no cgroup2 mount")
	}
	root := filepath.Join(mount, ownCgroups(tb)["unified"])
	f := &fixture{path: "/" + randomName(tb), dirs: map[string]string{}}
	dir := filepath.Join(root, f.path)
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
		_ = os.Remove(dir)
		tb.Skip("kernel without cgroup.kill")
	}
	f.dirs["unified"] = dir
	tb.Cleanup(func() { destroyCgroup(tb, dir) })
	f.m = New(Unified, WithRoot(root))
	return f
}

// mkChild creates sub (relative, e.g. "a/b") below the fixture cgroup in
// every hierarchy; destroyCgroup removes it with the rest.
func (f *fixture) mkChild(tb testing.TB, sub string) {
	tb.Helper()
	for _, dir := range f.dirs {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
}

// start runs script with sh inside sub (relative to the fixture cgroup,
// "" for itself) in the given hierarchies (all if none). The shell moves
// itself in before running script, so nothing forks outside.
func (f *fixture) start(tb testing.TB, sub, script string, hierarchies ...string) *exec.Cmd {
	tb.Helper()
	if len(hierarchies) == 0 {
		for h := range f.dirs {
			hierarchies = append(hierarchies, h)
		}
	}
	args := []string{"-c", `for f in "$@"; do echo $$ > "$f" || exit 97; done; exec sh -c "$CTRUNIT_SCRIPT"`, "sh"}
	for _, h := range hierarchies {
		args = append(args, filepath.Join(f.dirs[h], sub, "cgroup.procs"))
	}
	cmd := exec.Command("sh", args...)
	cmd.Env = append(os.Environ(), "CTRUNIT_SCRIPT="+script)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		// A frozen process would never die and Wait would hang.
		for _, dir := range f.dirs {
			thawDir(dir)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// waitProcs waits until the fixture cgroup holds at least n processes.
func (f *fixture) waitProcs(tb testing.TB, n int) []int {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, err := f.m.Processes(f.path)
		if err != nil {
			tb.Fatal(err)
		}
		if len(pids) >= n {
			return pids
		}
		if time.Now().After(deadline) {
			tb.Fatalf("cgroup holds %v, want at least %d processes", pids, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// destroyCgroup is the tests' own cleanup, independent of the code under
// test: thaw, SIGKILL everything in the subtree, remove it bottom-up.
func destroyCgroup(tb testing.TB, dir string) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return
	}
	thawDir(dir)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var pids []int
		_ = walkProcs(dir, func(pid int) { pids = append(pids, pid) })
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			tb.Errorf("cleanup: processes %v remain in %s", pids, dir)
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	slices.Reverse(dirs)
	for _, d := range dirs {
		if err := rmdirCgroup(d); err != nil {
			tb.Errorf("cleanup: %v", err)
		}
	}
}

// counter starts a shell loop that keeps writing an increasing number to
// a file, and returns a function reading the latest number.
func (f *fixture) counter(tb testing.TB) (*exec.Cmd, func() string) {
	tb.Helper()
	file := filepath.Join(tb.TempDir(), "counter")
	cmd := f.start(tb, "", `i=0; while :; do i=$((i+1)); echo $i > `+file+`; done`)
	read := func() string {
		data, _ := os.ReadFile(file)
		return strings.TrimSpace(string(data))
	}
	deadline := time.Now().Add(5 * time.Second)
	for read() == "" {
		if time.Now().After(deadline) {
			tb.Fatal("counter loop never wrote")
		}
		time.Sleep(time.Millisecond)
	}
	return cmd, read
}

// procState returns the state letter of /proc/PID/stat.
func procState(pid int) string {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "?"
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return "?"
}

// thawDir thaws a cgroup without the code under test.
func thawDir(dir string) {
	_ = os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0)
	_ = os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0"), 0)
}

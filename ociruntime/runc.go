package ociruntime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/smallfile"
)

var (
	// ErrNotFound means no runc binary could be found.
	ErrNotFound = errors.New("OCI runtime runc not found")
	// ErrNoContainer means runc keeps no state of the container: it was
	// never created, or it stopped and was forgotten.
	ErrNoContainer = errors.New("no such container in runc")
)

// Runc runs containers with one runc binary. Each container gets a state
// root of its own, Root/ID: a container whose processes are all gone is
// then forgotten by removing a directory that is ctr-unit's (Forget),
// which spares the stop an exec of runc delete (about 2 ms).
type Runc struct {
	Path string
	// Root holds the containers' runc state roots; ctr-unit keeps its own
	// so it never sees or touches containers of other runc users.
	Root string
}

// StateRoot is the --root runc keeps container id's state in.
func (r *Runc) StateRoot(id string) string { return filepath.Join(r.Root, id) }

// existing is the --root of container id for a command about a container
// that must exist (Probe): asking runc about one it has no state of would
// make runc create the state root again, left behind empty.
func (r *Runc) existing(id string) (string, error) {
	root := r.rootOf(id)
	if _, err := os.Stat(filepath.Join(root, id)); err != nil {
		return "", fmt.Errorf("%w: %s", ErrNoContainer, id)
	}
	return root, nil
}

// rootOf is the --root of a container that exists: its StateRoot, or Root
// itself for one created before ctr-unit gave each container a root of its
// own (runc's state is then Root/ID/state.json), so that an upgrade does
// not lose sight of the containers already running.
func (r *Runc) rootOf(id string) string {
	if _, err := os.Stat(filepath.Join(r.Root, id, "state.json")); err == nil {
		return r.Root
	}
	return r.StateRoot(id)
}

// FindRunc locates runc: path if given, else runc in $PATH.
func FindRunc(path, root string) (*Runc, error) {
	if path == "" {
		path = "runc"
	}
	abs, err := exec.LookPath(path)
	if err != nil {
		return nil, fmt.Errorf("%w (%s): install the runc package or pass --runtime PATH", ErrNotFound, path)
	}
	return &Runc{Path: abs, Root: root}, nil
}

// CreateArgv is the command line that creates container id and writes its
// init's pid to pidFile, leaving the init waiting to exec the container's
// process. runc exits, so nothing of it stays resident, and the init,
// orphaned, becomes a child of systemd. With logFile, runc also logs there
// in JSON, where its error can be read (its output is the container's).
func (r *Runc) CreateArgv(id, bundle, pidFile, logFile string) []string {
	argv := []string{r.Path, "--root", r.StateRoot(id)}
	if logFile != "" {
		argv = append(argv, "--log", logFile, "--log-format", "json")
	}
	return append(argv, "create", "--pid-file", pidFile, "--bundle", bundle, id)
}

// StartArgv lets a created container's init exec the container's process.
func (r *Runc) StartArgv(id string) []string {
	return []string{r.Path, "--root", r.rootOf(id), "start", id}
}

// Delete removes runc's state of container id, and its state root; force
// kills it first if it still runs. A container runc does not know is not
// an error.
func (r *Runc) Delete(ctx context.Context, id string, force bool) error {
	args := []string{"delete"}
	if force {
		args = append(args, "--force")
	}
	out, err := r.run(ctx, id, append(args, id)...)
	if err != nil && !strings.Contains(out, "does not exist") {
		return fmt.Errorf("runc delete %s: %w: %s", id, err, out)
	}
	return r.Forget(id)
}

// Forget removes all runc keeps of container id. It is runc delete for a
// container none of whose processes is left (the caller knows: its
// cgroup is empty): runc's cgroups are systemd's to remove with the unit's.
// A removal that fails on a mount a killed runc init left in the state
// detaches those mounts and tries again (detachBinaryMounts).
func (r *Runc) Forget(id string) error {
	root := r.StateRoot(id)
	err := os.RemoveAll(root)
	if errors.Is(err, unix.EBUSY) {
		detachBinaryMounts(root)
		err = os.RemoveAll(root)
	}
	if err != nil {
		return fmt.Errorf("forget runc state of %s: %w", id, err)
	}
	return nil
}

// detachBinaryMounts unmounts what a runc init killed early leaves in a
// container's runc state: runc 1.1 bind-mounts its own binary read-only
// onto a runc.XXXXXX file in the state directory for an instant (to exec
// a copy the container cannot write), and an init killed in that instant,
// as a stop kills an exec's init that has just joined the container's
// cgroup, leaves the mount there, and the state cannot be removed.
func detachBinaryMounts(root string) {
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "runc.") {
			_ = unix.Unmount(path, unix.MNT_DETACH)
		}
		return nil
	})
}

// run runs a runc command about container id.
func (r *Runc) run(ctx context.Context, id string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, r.Path, append([]string{"--root", r.rootOf(id)}, args...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// RunningInit reads the pid runc create wrote to pidFile and says whether
// that process is alive, with the file's time: when the init was created.
func RunningInit(pidFile string) (pid int, created time.Time, alive bool) {
	data, mod, err := smallfile.ReadWithModTime(pidFile)
	if err != nil {
		return 0, time.Time{}, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || unix.Kill(pid, 0) != nil {
		return 0, time.Time{}, false
	}
	return pid, mod, true
}

// Zombie reports whether process pid has exited but is not reaped yet
// (or is gone): a signal to it does nothing.
func Zombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and
	// may hold anything.
	i := strings.LastIndexByte(string(data), ')')
	return i < 0 || i+2 >= len(data) || data[i+2] == 'Z' || data[i+2] == 'X'
}

// Command ctr-unit runs containers as systemd services.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"go.podman.io/storage/pkg/reexec"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/definition"
	"github.com/ctr-unit/ctr-unit/events"
	"github.com/ctr-unit/ctr-unit/network"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/recordstore"
	"github.com/ctr-unit/ctr-unit/rootfs"
	"github.com/ctr-unit/ctr-unit/sdbus"
	"github.com/ctr-unit/ctr-unit/supervisor"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// Exit codes as podman uses them: 125 when ctr-unit itself failed; a
// container's own exit code otherwise.
const exitError = 125

// exitCode carries a container's exit code out of a command.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit code %d", int(e)) }

// app holds the global flags and opens the supervisor on demand.
type app struct {
	globals unitstep.Globals
	// unitDir receives template instances' drop-ins; refresh is set for
	// user commands (not the units' own steps), see supervisor.Refresh.
	unitDir string
	refresh bool
	// storageDriver is the image store's driver ("" detects).
	storageDriver string
	// hookDirs replace the default OCI hook directories (--hooks-dir).
	hookDirs []string
	// closers run when the command is done.
	closers []func() error
}

// supervisor opens the supervisor for a command about every container.
func (a *app) supervisor() (*supervisor.Supervisor, error) { return a.supervisorFor(nil) }

// supervisorFor opens the supervisor for a command about the named
// containers: its refresh reads their definition files only (all of them
// for nil), so the command costs the same however many are defined.
func (a *app) supervisorFor(names []string) (*supervisor.Supervisor, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate the ctr-unit binary: %w", err)
	}
	fs := rootfs.New(a.globals.Dirs, a.storageDriver)
	a.closers = append(a.closers, fs.Close)
	steps := a.globals
	steps.Runtime = absRuntime(steps.Runtime)
	sv := supervisor.New(supervisor.Options{
		Dirs:  a.globals.Dirs,
		Store: recordstore.Open(a.globals.Dirs),
		FS:    fs,
		Connect: func(ctx context.Context) (supervisor.Systemd, error) {
			return sdbus.Connect(ctx)
		},
		Cgroups:        cgroupmgr.New(cgroupmgr.Detect()),
		Steps:          unitstep.Runner{Globals: steps, Full: self, Lean: unitstep.Helper(self, unitstep.LeanName)},
		UnitDir:        a.unitDir,
		DefinitionDirs: definition.DirsFromEnv(os.Getenv),
		// As network's --network-config-dir, whose default it is.
		NetworkConfigDir: network.ConfigDirFromEnv(os.Getenv),
		Warn:             func(msg string) { fmt.Fprintln(os.Stderr, "ctr-unit: warning:", msg) },
		HookDirs:         a.hookDirs,
		EventSocket:      events.JournalSocket,
	})
	if a.refresh {
		// A bad definition file must not stop commands on the others.
		if rerr := sv.Refresh(context.Background(), names); rerr != nil {
			fmt.Fprintln(os.Stderr, "ctr-unit: warning:", rerr)
		}
	}
	return sv, nil
}

// close runs the closers of the command's supervisor.
func (a *app) close() {
	for _, c := range a.closers {
		_ = c()
	}
}

// absRuntime is the runc a unit's steps are told to use: the user's, as an
// absolute path, since a unit runs elsewhere ("" for runc in $PATH).
func absRuntime(runc string) string {
	if runc == "" {
		return ""
	}
	if p, err := exec.LookPath(runc); err == nil {
		runc = p
	}
	if p, err := filepath.Abs(runc); err == nil {
		return p
	}
	return runc
}

// commandGroup is a command that only holds subcommands. Cobra would
// print the help and exit 0 for a subcommand it does not know; a unit
// step or a script must see that as the error it is.
func commandGroup(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("missing command: ctr-unit %s COMMAND (see ctr-unit %s --help)", use, use)
			}
			return fmt.Errorf("unknown command %q for ctr-unit %s (see ctr-unit %s --help)", args[0], use, use)
		},
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// envGlobals are the global flags' defaults: the environment's, else
// unitstep's.
func envGlobals() unitstep.Globals {
	g := unitstep.DefaultGlobals()
	g.StateDir = envOr("CTR_UNIT_STATE_DIR", g.StateDir)
	g.RuntimeDir = envOr("CTR_UNIT_RUNTIME_DIR", g.RuntimeDir)
	g.Runtime = envOr("CTR_UNIT_RUNTIME", g.Runtime)
	return g
}

func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "ctr-unit",
		Short:         "Run containers as systemd services",
		Version:       unitstep.Version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := envGlobals()
	root.PersistentFlags().StringVar(&a.globals.StateDir, "state-dir", def.StateDir, "where container records are kept")
	root.PersistentFlags().StringVar(&a.globals.RuntimeDir, "runtime-dir", def.RuntimeDir, "where runtime data is kept")
	root.PersistentFlags().StringVar(&a.globals.Runtime, "runtime", def.Runtime, "path of the runc binary (default: runc in $PATH)")
	root.PersistentFlags().StringVar(&a.unitDir, "unit-dir", envOr("CTR_UNIT_UNIT_DIR", supervisor.DefaultUnitDir), "where drop-ins for ctr@NAME.service are written")
	root.PersistentFlags().StringVar(&a.storageDriver, "storage-driver", envOr("CTR_UNIT_STORAGE_DRIVER", ""), "image store driver: overlay or vfs (default: detected)")
	root.PersistentFlags().StringArrayVar(&a.hookDirs, "hooks-dir", nil, "directory of OCI hook files, replacing "+strings.Join(ociruntime.DefaultHookDirs, " and ")+" (repeatable; run and create keep it for the container)")
	root.PersistentPreRun = func(*cobra.Command, []string) { a.refresh = true }
	root.AddCommand(
		a.runCommand(), a.createCommand(), a.startCommand(), a.stopCommand(),
		a.restartCommand(), a.rmCommand(), a.killCommand(), a.psCommand(),
		a.inspectCommand(), a.logsCommand(), a.generateCommand(), a.validateCommand(),
	)
	root.AddCommand(a.imageCommands()...)
	root.AddCommand(a.pauseCommands()...)
	root.AddCommand(a.statsCommand())
	root.AddCommand(a.healthcheckCommand())
	root.AddCommand(a.networkCommand(), a.portCommand())
	root.AddCommand(a.execCommand(), a.topCommand(), a.waitCommand(), a.cpCommand(), a.eventsCommand(), a.attachCommand())
	if docs := a.docsCommand(root); docs != nil {
		root.AddCommand(docs)
	}
	a.registerCompletions(root)
	root.AddCommand(a.autoUpdateCommand())
	return root
}

func main() {
	if reexec.Init() { // storage's overlay driver re-executes this binary
		return
	}
	// containers/storage logs through logrus at info level ("using prior
	// storage driver"); ctr-unit's own output says what matters, and its
	// errors carry storage's.
	logrus.SetLevel(logrus.WarnLevel)
	a := &app{}
	err := run(a, os.Args)
	a.close()
	os.Exit(exitStatus(err, os.Stderr))
}

// exitStatus reports err on w, unless it is a container's own exit code
// or an error runc has reported already, and returns the exit status for
// it: the container's exit code; podman's 126 or 127 for a container
// whose process could not be started; a command's own code (codedError);
// 125 for any other failure of ctr-unit's.
func exitStatus(err error, w io.Writer) int {
	var code exitCode
	var rerr *unitstep.RuntimeError
	var coded *codedError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &rerr):
		if !rerr.Printed {
			fmt.Fprintln(w, "ctr-unit:", err)
		}
		return rerr.ExitCode
	case errors.As(err, &coded):
		fmt.Fprintln(w, "ctr-unit:", err)
		return coded.code
	}
	fmt.Fprintln(w, "ctr-unit:", err)
	return exitError
}

// codedError is a failure a command exits with a code of its own for, as
// podman's rm does (1: no such container, 2: it is running).
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// run runs ctr-unit's command line: a unit step (unitstep.Table) or a
// user's command.
func run(a *app, argv []string) error {
	ctx := context.Background()
	args := argv[1:]
	if filepath.Base(argv[0]) == generatorName {
		// Installed as a systemd generator (a symlink to this binary):
		// systemd passes the output directories.
		if len(args) < 1 || len(args) > 3 {
			return fmt.Errorf("usage: %s NORMAL-DIR [EARLY-DIR LATE-DIR]", generatorName)
		}
		return a.runStep(ctx, unitstep.Call{Globals: envGlobals(), Step: unitstep.Generator, OutputDirs: args})
	}
	if unitstep.IsInternal(args) {
		call, err := unitstep.Parse(args, envGlobals())
		if errors.Is(err, unitstep.ErrUnknownStep) {
			return fmt.Errorf("unknown command %q for ctr-unit internal (a unit step: %w)", call.Step, err)
		}
		if err != nil {
			return err
		}
		return a.runStep(ctx, call)
	}
	root := newRootCommand(a)
	root.SetArgs(args)
	if err := refuseNonRoot(root, args, os.Geteuid()); err != nil {
		return err
	}
	return root.ExecuteContext(ctx)
}

// refuseNonRoot refuses a user other than root before a command reads or
// writes anything: containers are services of systemd's system instance
// and their records are root's alone, so another user would only get
// half-way. Help, the version, completion, docs and validate (which reads
// a definition file and nothing stored) run for anyone.
func refuseNonRoot(root *cobra.Command, args []string, euid int) error {
	if euid == 0 {
		return nil
	}
	cmd, _, err := root.Find(args)
	if err != nil || cmd == root || slices.Contains(args, "--help") || slices.Contains(args, "-h") {
		return nil // cobra's own usage error or help
	}
	for c := cmd; c != nil; c = c.Parent() {
		switch c.Name() {
		case "help", "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd, "generate-docs", "validate":
			return nil
		}
	}
	return fmt.Errorf("ctr-unit %s: ctr-unit must run as root (user %d is not): containers run as services of systemd's system instance and their records are root's; nothing was changed, run it with sudo", cmd.Name(), euid)
}

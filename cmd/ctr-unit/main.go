// Command ctr-unit runs containers as systemd services.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"go.podman.io/storage/pkg/reexec"

	"github.com/ctr-unit/ctr-unit/supervisor"
	"github.com/ctr-unit/ctr-unit/units"
)

// Exit codes as podman uses them: 125 when ctr-unit itself failed; a
// container's own exit code otherwise.
const exitError = 125

// exitCode carries a container's exit code out of a command.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit code %d", int(e)) }

// app holds the global flags and opens the supervisor on demand.
type app struct {
	paths supervisor.Paths
	runc  string
	// unitDir receives template instances' drop-ins; refresh is set for
	// user commands (not the units' own steps), see supervisor.Refresh.
	unitDir string
	refresh bool
	// storageDriver is the image store's driver ("" detects).
	storageDriver string
}

func (a *app) supervisor() (*supervisor.Supervisor, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate the ctr-unit binary: %w", err)
	}
	sv, err := supervisor.New(supervisor.Options{
		Paths: a.paths,
		Runc:  a.runc,
		Self:  self,
		Step:  stepBinary(self),
		Connect: func(ctx context.Context) (supervisor.Systemd, error) {
			return units.Connect(ctx)
		},
		UnitDir:        a.unitDir,
		StorageDriver:  a.storageDriver,
		DefinitionDirs: definitionDirs(),
	})
	if err == nil && a.refresh {
		// A bad definition file must not stop commands on the others.
		if rerr := sv.Refresh(context.Background()); rerr != nil {
			fmt.Fprintln(os.Stderr, "ctr-unit: warning:", rerr)
		}
	}
	return sv, err
}

// stepBinary finds ctr-unit-step, installed in PREFIX/libexec/ctr-unit
// beside PREFIX/bin/ctr-unit, or built into the same directory. Without it
// ctr-unit does the units' steps itself, at a cost of 1.5 ms of each
// container's start and stop.
func stepBinary(self string) string {
	dir := filepath.Dir(self)
	for _, p := range []string{
		filepath.Join(dir, "..", "libexec", "ctr-unit", "ctr-unit-step"),
		filepath.Join(dir, "ctr-unit-step"),
	} {
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return filepath.Clean(p)
		}
	}
	return ""
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

func newRootCommand() *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:           "ctr-unit",
		Short:         "Run containers as systemd services",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.paths.StateDir, "state-dir", envOr("CTR_UNIT_STATE_DIR", "/var/lib/ctr-unit"), "where container records are kept")
	root.PersistentFlags().StringVar(&a.paths.RuntimeDir, "runtime-dir", envOr("CTR_UNIT_RUNTIME_DIR", "/run/ctr-unit"), "where runtime data is kept")
	root.PersistentFlags().StringVar(&a.runc, "runtime", envOr("CTR_UNIT_RUNTIME", ""), "path of the runc binary (default: runc in $PATH)")
	root.PersistentFlags().StringVar(&a.unitDir, "unit-dir", envOr("CTR_UNIT_UNIT_DIR", supervisor.DefaultUnitDir), "where drop-ins for ctr@NAME.service are written")
	root.PersistentFlags().StringVar(&a.storageDriver, "storage-driver", envOr("CTR_UNIT_STORAGE_DRIVER", ""), "image store driver: overlay or vfs (default: detected)")
	root.PersistentPreRun = func(*cobra.Command, []string) { a.refresh = true }
	root.AddCommand(
		a.runCommand(), a.createCommand(), a.startCommand(), a.stopCommand(),
		a.restartCommand(), a.rmCommand(), a.killCommand(), a.psCommand(),
		a.inspectCommand(), a.logsCommand(), a.internalCommand(),
		a.generateCommand(), a.validateCommand(),
	)
	root.AddCommand(a.imageCommands()...)
	root.AddCommand(a.pauseCommands()...)
	root.AddCommand(a.statsCommand())
	root.AddCommand(a.healthcheckCommand())
	root.AddCommand(a.networkCommand())
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
	root := newRootCommand()
	if filepath.Base(os.Args[0]) == generatorName {
		// Installed as a systemd generator (a symlink to this binary).
		root.SetArgs(append([]string{"internal", "generator"}, os.Args[1:]...))
	}
	err := root.ExecuteContext(context.Background())
	var code exitCode
	switch {
	case err == nil:
	case errors.As(err, &code):
		os.Exit(int(code))
	default:
		fmt.Fprintln(os.Stderr, "ctr-unit:", err)
		os.Exit(exitError)
	}
}

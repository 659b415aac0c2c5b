// Command ctr-unit runs containers as systemd services.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

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
}

func (a *app) supervisor() (*supervisor.Supervisor, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate the ctr-unit binary: %w", err)
	}
	return supervisor.New(supervisor.Options{
		Paths: a.paths,
		Runc:  a.runc,
		Self:  self,
		Connect: func(ctx context.Context) (supervisor.Systemd, error) {
			return units.Connect(ctx)
		},
	})
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
	root.AddCommand(
		a.runCommand(), a.createCommand(), a.startCommand(), a.stopCommand(),
		a.restartCommand(), a.rmCommand(), a.killCommand(), a.psCommand(),
		a.inspectCommand(), a.logsCommand(), a.internalCommand(),
	)
	return root
}

func main() {
	err := newRootCommand().ExecuteContext(context.Background())
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

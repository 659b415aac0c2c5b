package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/supervisor"
	"github.com/ctr-unit/ctr-unit/tty"
)

// execFailure gives runc's failures to start a command podman's codes.
func execFailure(err error) error {
	switch {
	case errors.Is(err, ociruntime.ErrExecNotFound):
		return &codedError{code: ociruntime.ExitNotFound, err: err}
	case errors.Is(err, ociruntime.ErrExecCannotInvoke):
		return &codedError{code: ociruntime.ExitCannotInvoke, err: err}
	}
	return err
}

func (a *app) execCommand() *cobra.Command {
	var o supervisor.ExecOptions
	var interactive bool
	var env, envFiles []string
	cmd := &cobra.Command{
		Use:   "exec [-i] [-t] [-d] [-e KEY=VALUE] [--env-file FILE] [-u USER] [-w DIR] [--privileged] NAME COMMAND [ARG...]",
		Short: "Run a process in a running container",
		Long: "Run a process in a running container: in its namespaces, and in its cgroup\n" +
			"below its unit's, so a stop of the unit ends it and stats count it. exec\n" +
			"exits with the process's exit code; 126 if the command cannot be invoked,\n" +
			"127 if it is not found, 125 if ctr-unit failed. With -d it prints the\n" +
			"process's pid and returns.",
		Args:              cobra.MinimumNArgs(2),
		ValidArgsFunction: a.completeContainers(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, f := range envFiles {
				e, err := container.ParseEnvFile(f, os.LookupEnv)
				if err != nil {
					return err
				}
				o.Env = append(o.Env, e...)
			}
			for _, e := range env {
				v, err := container.ParseEnv(e)
				if err != nil {
					return fmt.Errorf("--env: %w", err)
				}
				o.Env = append(o.Env, v)
			}
			if o.User != "" {
				if _, err := container.ParseUser(o.User); err != nil {
					return fmt.Errorf("--user %s: %w", o.User, err)
				}
			}
			if o.Detach && o.Terminal {
				return errors.New("exec -d -t: nothing of ctr-unit stays to hold a detached process's terminal; use -d without -t")
			}
			o.Args = args[1:]
			o.Stdout, o.Stderr = os.Stdout, os.Stderr
			if interactive {
				o.Stdin = os.Stdin
			}
			if o.Terminal && tty.IsTerminal(os.Stdin) {
				o.Local = os.Stdin
			}
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			code, err := sv.Exec(cmd.Context(), args[0], o)
			if err != nil {
				return execFailure(err)
			}
			if o.Detach {
				fmt.Println(code)
				return nil
			}
			return exitCode(code)
		},
	}
	// No refresh (see supervisor.Refresh): exec needs only its running
	// container's records, which a refresh would not change.
	cmd.PersistentPreRun = func(*cobra.Command, []string) {}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&interactive, "interactive", "i", false, "pass standard input to the process")
	f.BoolVarP(&o.Terminal, "tty", "t", false, "give the process a terminal")
	f.BoolVarP(&o.Detach, "detach", "d", false, "run the process in the background and print its pid")
	f.StringArrayVarP(&env, "env", "e", nil, "set an environment variable (KEY=VALUE)")
	f.StringArrayVar(&envFiles, "env-file", nil, "read environment variables from a file (KEY=VALUE lines)")
	f.StringVarP(&o.User, "user", "u", "", "user (NAME, UID, NAME:GROUP or UID:GID) the process runs as")
	f.StringVarP(&o.WorkDir, "workdir", "w", "", "working directory inside the container")
	f.BoolVar(&o.Privileged, "privileged", false, "give the process every capability and let it gain privileges")
	return cmd
}

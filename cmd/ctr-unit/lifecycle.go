package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/supervisor"
	"github.com/ctr-unit/ctr-unit/tty"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// createFlags binds the flags shared by run and create: every container
// setting's (container.Settings), and --replace.
func createFlags(cmd *cobra.Command, r *supervisor.CreateRequest) {
	bindSettings(cmd, &r.Options)
	cmd.Flags().BoolVar(&r.Replace, "replace", false, "remove a container of the same name first (as rm -f)")
	cmd.Flags().SetInterspersed(false)
}

// createOptions completes the options from run/create's arguments.
func createOptions(cmd *cobra.Command, r *supervisor.CreateRequest, args []string) {
	imageArgs(&r.Options, args)
	r.CreateCommand = createCommandLine(cmd, r.BaseDir, args)
}

// createImage completes the options and pulls the image by --pull.
func (a *app) createImage(cmd *cobra.Command, r *supervisor.CreateRequest, args []string) error {
	createOptions(cmd, r, args)
	return a.pullImage(cmd.Context(), &r.Options)
}

// notCreateFlags are run's own flags and those a --new unit sets itself.
var notCreateFlags = map[string]bool{"detach": true, "rm": true, "replace": true, "unit": true}

// createCommandLine is how the container can be created again, for
// generate systemd --new: the flags the user gave, as --flag=value
// (relative host paths made absolute), then the arguments.
func createCommandLine(cmd *cobra.Command, baseDir string, args []string) []string {
	var line []string
	global := cmd.InheritedFlags() // --state-dir and such: the unit gives its own
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if notCreateFlags[f.Name] || global.Lookup(f.Name) != nil {
			return
		}
		for _, v := range settingValues(f) {
			line = append(line, "--"+f.Name+"="+container.Canonical(f.Name, v, baseDir))
		}
	})
	return append(append(line, "--"), args...)
}

func (a *app) createCommand() *cobra.Command {
	var r supervisor.CreateRequest
	cmd := &cobra.Command{
		Use:   "create [flags] --name NAME --rootfs DIR -- COMMAND [ARG...]",
		Short: "Create a container without starting it",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.createImage(cmd, &r, args); err != nil {
				return err
			}
			r.HooksDirs = a.hookDirs
			// An instance of ctr@.service when installed: systemctl and
			// boot can manage it (run keeps a transient unit).
			r.Template = true
			sv, err := a.supervisorFor(nameScope(r))
			if err != nil {
				return err
			}
			cfg, err := sv.Create(cmd.Context(), r)
			if err != nil {
				return err
			}
			fmt.Println(cfg.Name)
			return nil
		},
	}
	createFlags(cmd, &r)
	return cmd
}

func (a *app) runCommand() *cobra.Command {
	var r supervisor.CreateRequest
	var detach bool
	cmd := &cobra.Command{
		Use:   "run [flags] --name NAME --rootfs DIR -- COMMAND [ARG...]",
		Short: "Create and start a container",
		Long: "Create and start a container as a systemd service. Without -d, run stays\n" +
			"attached to the container's output and exits with its exit code.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.createImage(cmd, &r, args); err != nil {
				return err
			}
			r.HooksDirs = a.hookDirs
			if detach && r.Terminal {
				return fmt.Errorf("run -d -t: nothing of ctr-unit stays to hold a detached container's terminal; run -it attached, or -d without -t (its output goes to the journal)")
			}
			sv, err := a.supervisorFor(nameScope(r))
			if err != nil {
				return err
			}
			if err := sv.Connect(cmd.Context()); err != nil {
				return naming(r.Name, err)
			}
			if detach {
				return runDetached(cmd.Context(), sv, r)
			}
			return runAttached(cmd.Context(), sv, r)
		},
	}
	createFlags(cmd, &r)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "start the container and return")
	return cmd
}

// runDetached is run -d. A --rm container whose start fails is removed
// here, once the failure is known (its unit's own removal is held off
// meanwhile, so the exit it recorded can be read); one that started is
// removed by its unit when it stops, or here if it has stopped already.
func runDetached(ctx context.Context, sv *supervisor.Supervisor, r supervisor.CreateRequest) error {
	if !r.AutoRemove {
		cfg, err := sv.RunDetached(ctx, r)
		if err != nil {
			return err
		}
		fmt.Println(cfg.Name)
		return nil
	}
	cfg, err := sv.Create(ctx, r)
	if err != nil {
		return err
	}
	release, err := sv.HoldRemoval(cfg.Name)
	if err != nil {
		return errors.Join(err, removeGone(ctx, sv, cfg.Name))
	}
	err = sv.Start(ctx, cfg.Name, supervisor.StartOptions{})
	release()
	if err != nil {
		return errors.Join(err, removeGone(ctx, sv, cfg.Name))
	}
	// Stopped while the removal was held: its unit left it.
	if info, ierr := sv.Inspect(ctx, cfg.Name); ierr == nil && !info.Status.Live() {
		if err := removeGone(ctx, sv, cfg.Name); err != nil {
			return err
		}
	}
	fmt.Println(cfg.Name)
	return nil
}

// runAttached is run without -d: the container's output is the caller's,
// and its exit code run's. A --rm container is removed however the run
// ended, its start's failure included.
func runAttached(ctx context.Context, sv *supervisor.Supervisor, r supervisor.CreateRequest) error {
	cfg, err := sv.Create(ctx, r)
	if err != nil {
		return err
	}
	if cfg.AutoRemove {
		// The exit is read before the container goes.
		release, err := sv.HoldRemoval(cfg.Name)
		if err != nil {
			return errors.Join(err, removeGone(ctx, sv, cfg.Name))
		}
		defer release()
	}
	stop := forwardSignals(func(sig syscall.Signal) {
		_ = sv.Kill(ctx, cfg.Name, sig, false)
	})
	stdio := [3]int{int(os.Stdin.Fd()), int(os.Stdout.Fd()), int(os.Stderr.Fd())}
	var code int
	if cfg.Terminal {
		code, err = sv.RunTerminal(ctx, cfg.Name, stdio, func(master *os.File) error {
			sess := tty.Session{Master: master, Out: os.Stdout}
			if cfg.Interactive {
				sess.In = os.Stdin
			}
			if tty.IsTerminal(os.Stdin) {
				sess.Local = os.Stdin
			}
			return sess.Run()
		})
	} else {
		code, err = sv.Run(ctx, cfg.Name, stdio)
	}
	stop()
	var rerr *unitstep.RuntimeError
	if errors.As(err, &rerr) {
		// The unit's start step (or runc) said why on the caller's
		// output, which the unit has: once is enough.
		rerr.Printed = true
	}
	if cfg.AutoRemove {
		err = errors.Join(err, removeGone(ctx, sv, cfg.Name))
	}
	if err != nil {
		return err
	}
	return exitCode(code)
}

// removeGone removes a --rm container, which its unit may have removed
// already.
func removeGone(ctx context.Context, sv *supervisor.Supervisor, name string) error {
	if err := sv.Remove(ctx, name, true); err != nil && !errors.Is(err, container.ErrNoSuchContainer) {
		return err
	}
	return nil
}

// nameScope is what a create or run refreshes: the container it names,
// whose name a definition file may hold; all without a name.
func nameScope(r supervisor.CreateRequest) []string {
	if r.Options.Name == "" {
		return nil
	}
	return []string{r.Options.Name}
}

// forwardSignals passes the signals a user sends to an attached run on to
// the container, as podman's --sig-proxy does.
func forwardSignals(send func(syscall.Signal)) (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-ch:
				send(sig.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

// eachName runs fn on every named container, printing the names it
// succeeded for and reporting every failure, as podman does.
func eachName(names []string, fn func(string) error) error {
	var errs []error
	for _, n := range names {
		if err := fn(n); err != nil {
			errs = append(errs, naming(n, err))
			continue
		}
		fmt.Println(n)
	}
	return errors.Join(errs...)
}

// naming makes sure an error about container name says which container
// it is about: most do already; one from systemd's side (it cannot be
// reached) does not.
func naming(name string, err error) error {
	if name == "" || strings.Contains(err.Error(), name) {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// perName is a command that does one thing to each named container.
func (a *app) perName(use, short string, do func(ctx context.Context, sv *supervisor.Supervisor, name string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " NAME...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisorFor(args)
			if err != nil {
				return err
			}
			return eachName(args, func(n string) error { return do(cmd.Context(), sv, n) })
		},
	}
}

func (a *app) startCommand() *cobra.Command {
	return a.perName("start", "Start containers", func(ctx context.Context, sv *supervisor.Supervisor, n string) error {
		return sv.Start(ctx, n, supervisor.StartOptions{})
	})
}

// timeoutFlag binds -t/--time as podman's stop and restart have it.
func timeoutFlag(cmd *cobra.Command) func() *time.Duration {
	var secs uint
	cmd.Flags().UintVarP(&secs, "time", "t", 0, "seconds to wait before killing (default: the container's stop timeout)")
	return func() *time.Duration {
		if !cmd.Flags().Changed("time") {
			return nil
		}
		d := time.Duration(secs) * time.Second
		return &d
	}
}

func (a *app) stopCommand() *cobra.Command {
	var timeout func() *time.Duration
	cmd := a.perName("stop [-t SECONDS]", "Stop containers", func(ctx context.Context, sv *supervisor.Supervisor, n string) error {
		return sv.Stop(ctx, n, timeout())
	})
	timeout = timeoutFlag(cmd)
	return cmd
}

func (a *app) restartCommand() *cobra.Command {
	var timeout func() *time.Duration
	cmd := a.perName("restart [-t SECONDS]", "Restart containers", func(ctx context.Context, sv *supervisor.Supervisor, n string) error {
		return sv.Restart(ctx, n, timeout())
	})
	timeout = timeoutFlag(cmd)
	return cmd
}

func (a *app) rmCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [-f] NAME...",
		Short: "Remove containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			return removeAll(cmd.Context(), sv, args, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill and remove a running container; a missing one is no error")
	cmd.Long = "Remove containers: their records, runtime files, unit settings and layers.\n\n" +
		"A container defined in a NAME.container file is the file's: rm deletes its\n" +
		"record and its layer (what it wrote), and the next ctr-unit command or start\n" +
		"makes it again, fresh, from the file. Delete the file (then systemctl\n" +
		"daemon-reload) to remove it for good. A container of a generate systemd --new\n" +
		"unit is removed by the unit itself when it stops."
	return cmd
}

// removeAll removes the named containers as podman's rm does: with force
// a missing container is skipped silently; otherwise the exit code is
// removeCode's.
func removeAll(ctx context.Context, sv *supervisor.Supervisor, names []string, force bool) error {
	var errs []error
	code := 0
	for _, n := range names {
		err := sv.Remove(ctx, n, force)
		switch {
		case err == nil:
			fmt.Println(n)
			continue
		case errors.Is(err, container.ErrNoSuchContainer) && force:
			continue
		case errors.Is(err, container.ErrNoSuchContainer):
			err = fmt.Errorf("no container with name or ID %q found: %w", n, container.ErrNoSuchContainer)
		}
		code = removeCode(code, err, container.ErrNoSuchContainer, supervisor.ErrRunning)
		errs = append(errs, naming(n, err))
	}
	if len(errs) == 0 {
		return nil
	}
	return &codedError{code: code, err: errors.Join(errs...)}
}

// removeCode is podman's exit code for removals (rm, rmi, volume rm),
// given the code so far and one more failure: 1 once something named did
// not exist, else 2 if something was in use (or running), else 125.
func removeCode(code int, err, missing, inUse error) int {
	switch {
	case code == 1:
	case errors.Is(err, missing):
		code = 1
	case errors.Is(err, inUse):
		code = 2
	case code == 0:
		code = exitError
	}
	return code
}

func (a *app) killCommand() *cobra.Command {
	var sigName string
	var all bool
	cmd := a.perName("kill [-s SIGNAL] [--all]", "Send a signal to containers", func(ctx context.Context, sv *supervisor.Supervisor, n string) error {
		sig, err := container.ParseSignal(sigName)
		if err != nil {
			return err
		}
		return sv.Kill(ctx, n, sig, all)
	})
	cmd.Flags().StringVarP(&sigName, "signal", "s", "KILL", "signal to send")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "signal every process of the container, not only its main one")
	return cmd
}

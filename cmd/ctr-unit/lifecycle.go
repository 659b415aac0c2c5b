package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ctr-unit/ctr-unit/supervisor"
	"github.com/ctr-unit/ctr-unit/units"
)

// createFlags binds the flags shared by run and create.
func createFlags(cmd *cobra.Command, o *supervisor.CreateOptions, stopTimeout *uint) {
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", "", "container name (required)")
	f.StringVar(&o.Rootfs, "rootfs", "", "directory to use as the container's root filesystem")
	f.StringVar(&o.Restart, "restart", "no", "restart policy: no, on-failure[:N], always, unless-stopped")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "set an environment variable (KEY=VALUE)")
	f.StringVarP(&o.WorkDir, "workdir", "w", "", "working directory inside the container")
	f.Var(&entrypointValue{dst: &o.Entrypoint}, "entrypoint", `replace the image's ENTRYPOINT, and drop its CMD: PATH or '["PROGRAM","ARG"]' ("" clears it)`)
	f.StringVar(&o.Hostname, "hostname", "", "container host name")
	f.StringVar(&o.Network, "network", "host", "network: host or none")
	f.StringVar(&o.StopSignal, "stop-signal", "", "signal that stops the container (default SIGTERM)")
	f.UintVar(stopTimeout, "stop-timeout", uint(supervisor.DefaultStopTimeout/time.Second), "seconds to wait after the stop signal before killing")
	f.StringArrayVar(&o.Requires, "requires", nil, "container that must run before this one (repeatable)")
	f.BoolVar(&o.NoNetworkWait, "no-network-wait", false, "do not order the container's unit after network-online.target at boot")
	bindLimitFlags(cmd, o)
	imageFlags(cmd, o)
	healthFlags(cmd, &o.Health)
	f.BoolVar(&o.Replace, "replace", false, "remove a container of the same name first (as rm -f)")
	f.StringVar(&o.Unit, "unit", "", "the unit file that runs the container (set by generate systemd --new units)")
	_ = f.MarkHidden("unit")
	f.SetInterspersed(false)
}

func (a *app) createOptions(cmd *cobra.Command, o *supervisor.CreateOptions, stopTimeout *uint, args []string) {
	imageArgs(o, args)
	if cmd.Flags().Changed("stop-timeout") {
		o.StopTimeout = stopTimeout
	}
	o.CreateCommand = createCommandLine(cmd, o, args)
}

// notCreateFlags are run's own flags and those a --new unit sets itself.
var notCreateFlags = map[string]bool{"detach": true, "rm": true, "replace": true, "unit": true}

// createCommandLine is how the container can be created again, for
// generate systemd --new: the flags the user gave, as --flag=value (a
// relative --rootfs made absolute), then the arguments.
func createCommandLine(cmd *cobra.Command, o *supervisor.CreateOptions, args []string) []string {
	var line []string
	global := cmd.InheritedFlags() // --state-dir and such: the unit gives its own
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if notCreateFlags[f.Name] || global.Lookup(f.Name) != nil {
			return
		}
		values := []string{f.Value.String()}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			values = sv.GetSlice()
		}
		if f.Name == "rootfs" {
			if abs, err := filepath.Abs(o.Rootfs); err == nil {
				values = []string{abs}
			}
		}
		for _, v := range values {
			line = append(line, "--"+f.Name+"="+v)
		}
	})
	return append(append(line, "--"), args...)
}

func (a *app) createCommand() *cobra.Command {
	var o supervisor.CreateOptions
	var stopTimeout uint
	cmd := &cobra.Command{
		Use:   "create [flags] --name NAME --rootfs DIR -- COMMAND [ARG...]",
		Short: "Create a container without starting it",
		RunE: func(cmd *cobra.Command, args []string) error {
			a.createOptions(cmd, &o, &stopTimeout, args)
			// An instance of ctr@.service when installed: systemctl and
			// boot can manage it (run keeps a transient unit).
			o.Template = true
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			cfg, err := sv.Create(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Println(cfg.Name)
			return nil
		},
	}
	createFlags(cmd, &o, &stopTimeout)
	return cmd
}

func (a *app) runCommand() *cobra.Command {
	var o supervisor.CreateOptions
	var stopTimeout uint
	var detach, remove bool
	cmd := &cobra.Command{
		Use:   "run [flags] --name NAME --rootfs DIR -- COMMAND [ARG...]",
		Short: "Create and start a container",
		Long: "Create and start a container as a systemd service. Without -d, run stays\n" +
			"attached to the container's output and exits with its exit code.",
		RunE: func(cmd *cobra.Command, args []string) error {
			a.createOptions(cmd, &o, &stopTimeout, args)
			if detach && remove {
				return fmt.Errorf("--rm cannot be used with -d")
			}
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if detach {
				cfg, err := sv.RunDetached(ctx, o)
				if err != nil {
					return err
				}
				fmt.Println(cfg.Name)
				return nil
			}
			cfg, err := sv.Create(ctx, o)
			if err != nil {
				return err
			}
			stop := forwardSignals(func(sig syscall.Signal) {
				_ = sv.Kill(ctx, cfg.Name, sig, false)
			})
			code, err := sv.Run(ctx, cfg.Name, [3]int{int(os.Stdin.Fd()), int(os.Stdout.Fd()), int(os.Stderr.Fd())})
			stop()
			if err != nil {
				return err
			}
			if remove {
				if err := sv.Remove(ctx, cfg.Name, true); err != nil {
					return err
				}
			}
			return exitCode(code)
		},
	}
	createFlags(cmd, &o, &stopTimeout)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "start the container and return")
	cmd.Flags().BoolVar(&remove, "rm", false, "remove the container when it exits")
	return cmd
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
			errs = append(errs, err)
			continue
		}
		fmt.Println(n)
	}
	return errors.Join(errs...)
}

// perName is a command that does one thing to each named container.
func (a *app) perName(use, short string, do func(ctx context.Context, sv *supervisor.Supervisor, name string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " NAME...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
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
	cmd := a.perName("rm [-f]", "Remove containers", func(ctx context.Context, sv *supervisor.Supervisor, n string) error {
		return sv.Remove(ctx, n, force)
	})
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill and remove a running container")
	cmd.Long = "Remove containers: their records, runtime files, unit settings and layers.\n\n" +
		"A container defined in a NAME.container file is the file's: rm deletes its\n" +
		"record and its layer (what it wrote), and the next ctr-unit command or start\n" +
		"makes it again, fresh, from the file. Delete the file (then systemctl\n" +
		"daemon-reload) to remove it for good. A container of a generate systemd --new\n" +
		"unit is removed by the unit itself when it stops."
	return cmd
}

func (a *app) killCommand() *cobra.Command {
	var sigName string
	var all bool
	cmd := a.perName("kill [-s SIGNAL] [--all]", "Send a signal to containers", func(ctx context.Context, sv *supervisor.Supervisor, n string) error {
		sig, err := units.SignalNumber(sigName)
		if err != nil {
			return err
		}
		return sv.Kill(ctx, n, sig, all)
	})
	cmd.Flags().StringVarP(&sigName, "signal", "s", "KILL", "signal to send")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "signal every process of the container, not only its main one")
	return cmd
}

func (a *app) internalCommand() *cobra.Command {
	cmd := commandGroup("internal", "Steps run by ctr-unit's units")
	cmd.Hidden = true
	// The units' steps must not refresh: they run while a command holds
	// the container's lock, or at early boot.
	cmd.PersistentPreRun = func(*cobra.Command, []string) {}
	cmd.AddCommand(a.prepareCommand(), a.generatorCommand(), a.removeCommand())
	cmd.AddCommand(a.mountRootfsCommand())
	cmd.AddCommand(a.startHealthyCommand())
	cmd.AddCommand(&cobra.Command{
		Use:   "start-at-boot",
		Short: "Start the containers whose restart policy asks for it (ctr-unit-restart.service)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			started, err := sv.StartAtBoot(cmd.Context())
			for _, n := range started {
				fmt.Println(n)
			}
			return err
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "refresh-units",
		Short: "Rewrite the drop-ins of containers made with create (the package's postinst runs it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			changed, err := sv.RefreshDropIns(cmd.Context())
			for _, n := range changed {
				fmt.Println(n)
			}
			return err
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:  "start-post NAME",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			argv, err := sv.StartPost(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return syscall.Exec(argv[0], argv, os.Environ())
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:  "start NAME",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			argv, err := sv.StartStep(cmd.Context(), args[0])
			if err != nil || argv == nil {
				return err
			}
			// The step's last command runs in its place: one process
			// less for systemd to wait for.
			return syscall.Exec(argv[0], argv, os.Environ())
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:  "stop-post NAME",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			return sv.StopPost(cmd.Context(), args[0], os.Getenv)
		},
	})
	return cmd
}

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/supervisor"
)

// defaultTopFormat is podman top's default columns, as ps writes them.
const defaultTopFormat = "user,pid,ppid,pcpu,etime,tty,time,args"

func (a *app) topCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top NAME [PS-OPTIONS...]",
		Short: "List the processes of a running container",
		Long: "List the processes of a running container: every process of its unit's\n" +
			"cgroup (its own, execs' and checks'), as the host's ps shows them, host\n" +
			"pids included. PS-OPTIONS are ps's (e.g. -o pid,comm); by default podman\n" +
			"top's columns: " + defaultTopFormat + ".",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			pids, err := sv.Processes(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if len(pids) == 0 {
				return fmt.Errorf("container %s has no processes", args[0])
			}
			ps, err := exec.LookPath("ps")
			if err != nil {
				return fmt.Errorf("ps not found (install procps): %w", err)
			}
			list := make([]string, len(pids))
			for i, p := range pids {
				list[i] = strconv.Itoa(p)
			}
			opts := args[1:]
			if len(opts) == 0 {
				opts = []string{"-o", defaultTopFormat}
			}
			argv := append(append([]string{"ps"}, opts...), "-p", strings.Join(list, ","))
			return syscall.Exec(ps, argv, os.Environ())
		},
	}
	// ps's options follow the name.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func (a *app) waitCommand() *cobra.Command {
	var cond, interval string
	cmd := &cobra.Command{
		Use:   "wait [--condition stopped|running|healthy|unhealthy] NAME...",
		Short: "Wait for containers to stop (or meet a condition) and print their exit codes",
		Long: "Wait until each container meets the condition (by default: it stopped) and\n" +
			"print its exit code, -1 for one that never exited. wait follows systemd's\n" +
			"signals about the containers' units; --interval is accepted for podman's\n" +
			"sake and not used: nothing is polled.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := supervisor.ParseCondition(cond)
			if err != nil {
				return err
			}
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			var errs []error
			for _, n := range args {
				code, err := sv.Wait(cmd.Context(), n, c)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Println(code)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVar(&cond, "condition", supervisor.ConditionStopped, "stopped, running, healthy or unhealthy")
	cmd.Flags().StringVarP(&interval, "interval", "i", "250ms", "accepted for podman's sake; wait polls nothing")
	return cmd
}

// containerPath splits a cp argument NAME:PATH; ok is false for a host
// path (one with no colon, or a "/" or "." before it, as podman reads it).
func containerPath(arg string) (name, path string, ok bool) {
	name, path, ok = strings.Cut(arg, ":")
	if !ok || name == "" || strings.ContainsAny(name, "/") || strings.HasPrefix(name, ".") {
		return "", "", false
	}
	return name, path, true
}

func (a *app) cpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cp [NAME:]SRC [NAME:]DEST",
		Short: "Copy files between a container and the host",
		Long: "Copy a file or a directory between a container, running or stopped, and the\n" +
			"host, as podman cp: SRC/. copies a directory's contents; an existing\n" +
			"directory DEST receives SRC by its name. Container paths are resolved\n" +
			"inside the container's root, and read or written by a process chrooted\n" +
			"there: no symlink in the container leads outside it. Files copied into a\n" +
			"container belong to its user; copied out they keep their owners. Modes\n" +
			"are kept. A running container's volumes and tmpfs are reached; a stopped\n" +
			"one's root alone.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcName, srcPath, fromCtr := containerPath(args[0])
			dstName, dstPath, toCtr := containerPath(args[1])
			switch {
			case fromCtr && toCtr:
				return errors.New("cp copies between a container and the host: copy to the host, then on")
			case !fromCtr && !toCtr:
				return errors.New("cp needs a container side: NAME:PATH")
			}
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			if fromCtr {
				return sv.CopyFromContainer(cmd.Context(), srcName, srcPath, args[1])
			}
			return sv.CopyToContainer(cmd.Context(), args[0], dstName, dstPath)
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var out []string
			for _, n := range a.containerNames(toComplete) {
				out = append(out, n+":")
			}
			return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveDefault
		},
	}
}

func (a *app) attachCommand() *cobra.Command {
	var sigProxy, noStdin bool
	cmd := &cobra.Command{
		Use:   "attach [--sig-proxy=false] NAME",
		Short: "Follow a running container's output until it exits",
		Long: "Follow a running container's output, from the journal, until the container\n" +
			"exits, and exit with its exit code. Signals sent to attach (Ctrl-C) go to\n" +
			"the container unless --sig-proxy=false.\n\n" +
			"attach gives output only. A container's input is the standard input its\n" +
			"unit was started with: the attached run's (run -i), or none for a detached\n" +
			"one. Nothing of ctr-unit stays beside a running container (systemd is its\n" +
			"monitor), so nothing holds a pipe or a terminal another command could join\n" +
			"later; a container with a terminal (run -it) is the run's alone.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			info, err := sv.Inspect(ctx, name)
			if err != nil {
				return err
			}
			if info.Status != supervisor.StatusRunning {
				return fmt.Errorf("%w: %s is %s; attach follows a running container", supervisor.ErrNotRunning, name, info.Status)
			}
			if info.Config.Terminal {
				return fmt.Errorf("container %s has a terminal, held by the run that started it; nothing else can attach to it", name)
			}
			journalctl, err := exec.LookPath("journalctl")
			if err != nil {
				return fmt.Errorf("journalctl not found: %w", err)
			}
			// From now on, by time: --lines=0 would miss what comes while
			// journalctl finds the journal's end.
			now := time.Now()
			follow := exec.CommandContext(ctx, journalctl, "--unit", info.Config.Unit, "--identifier", name, "--output", "cat", "--no-pager", "--follow",
				fmt.Sprintf("--since=@%d.%06d", now.Unix(), now.Nanosecond()/1000))
			follow.Stdout, follow.Stderr = os.Stdout, os.Stderr
			if err := follow.Start(); err != nil {
				return fmt.Errorf("journalctl: %w", err)
			}
			if sigProxy {
				stop := forwardSignals(func(sig syscall.Signal) { _ = sv.Kill(ctx, name, sig, false) })
				defer stop()
			}
			code, err := sv.Wait(ctx, name, supervisor.ConditionStopped)
			// The journal may still be passing on the last lines.
			time.Sleep(300 * time.Millisecond)
			_ = follow.Process.Kill()
			_ = follow.Wait()
			if err != nil {
				return err
			}
			return exitCode(code)
		},
	}
	cmd.Flags().BoolVar(&sigProxy, "sig-proxy", true, "pass signals sent to attach on to the container")
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "accepted for podman's sake: attach never passes input")
	return cmd
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/supervisor"
)

// containerJSON is what ps --format json and inspect show: podman's field
// names where podman has them.
type containerJSON struct {
	Name         string                  `json:"Name"`
	Created      time.Time               `json:"Created"`
	Path         string                  `json:"Path"`
	Args         []string                `json:"Args"`
	Rootfs       string                  `json:"Rootfs"`
	Unit         string                  `json:"Unit"`
	State        stateJSON               `json:"State"`
	RestartCount uint32                  `json:"RestartCount"`
	Config       configJSON              `json:"Config"`
	HostConfig   hostConfigJSON          `json:"HostConfig"`
	Image        string                  `json:"Image,omitempty"`
	ImageName    string                  `json:"ImageName,omitempty"`
	Mounts       []container.Mount       `json:"Mounts,omitempty"`
	SizeRw       *int64                  `json:"SizeRw,omitempty"`
	SizeRootFs   *int64                  `json:"SizeRootFs,omitempty"`
	Restart      container.RestartPolicy `json:"-"`
}

type stateJSON struct {
	Status     supervisor.Status `json:"Status"`
	Running    bool              `json:"Running"`
	Paused     bool              `json:"Paused"`
	Restarting bool              `json:"Restarting"`
	Pid        uint32            `json:"Pid"`
	ExitCode   int               `json:"ExitCode"`
	StartedAt  time.Time         `json:"StartedAt"`
	FinishedAt time.Time         `json:"FinishedAt"`
	Result     string            `json:"UnitResult,omitempty"`
	Health     *healthJSON       `json:"Health,omitempty"`
}

type configJSON struct {
	Env         []string         `json:"Env"`
	WorkingDir  string           `json:"WorkingDir"`
	Hostname    string           `json:"Hostname,omitempty"`
	StopSignal  container.Signal `json:"StopSignal"`
	StopTimeout uint             `json:"StopTimeout"`
}

type hostConfigJSON struct {
	RestartPolicy container.RestartPolicy `json:"RestartPolicy"`
	NetworkMode   string                  `json:"NetworkMode"`
}

func toJSON(i *supervisor.Info) containerJSON {
	c := i.Config
	out := containerJSON{
		Name: c.Name, Created: c.CreatedAt, Path: c.Command[0], Args: c.Command[1:],
		Rootfs: c.Rootfs, Unit: c.Unit, RestartCount: i.RestartCount(),
		State: stateJSON{
			Status:     i.Status,
			Running:    i.Status == supervisor.StatusRunning || i.Status == supervisor.StatusPaused,
			Paused:     i.Status == supervisor.StatusPaused,
			Restarting: i.Status == supervisor.StatusRestarting,
			StartedAt:  i.Unit.StartedAt,
			Health:     toHealthJSON(i.Health),
		},
		Config: configJSON{
			Env: c.Env, WorkingDir: c.WorkDir, Hostname: c.Hostname,
			StopSignal: c.StopSignal, StopTimeout: uint(c.StopTimeout),
		},
		HostConfig: hostConfigJSON{RestartPolicy: c.Restart, NetworkMode: c.Network},
	}
	out.Image, out.ImageName, out.Mounts = c.ImageID, c.Image, c.Mounts
	if out.State.StartedAt.IsZero() {
		out.State.StartedAt = i.State.StartedAt
	}
	if out.State.Running {
		out.State.Pid = i.Unit.MainPID
	}
	if i.Exit != nil {
		out.State.ExitCode = i.Exit.ExitCode
		out.State.FinishedAt = i.Exit.FinishedAt
		out.State.Result = i.Exit.Result
	}
	return out
}

// render writes v as JSON, or through a Go template as podman's --format.
func render(format string, items []containerJSON) error {
	if format == "json" || format == "" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if items == nil {
			items = []containerJSON{}
		}
		return enc.Encode(items)
	}
	tmpl, err := template.New("format").Parse(strings.TrimSuffix(format, "\n") + "\n")
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	for _, it := range items {
		if err := tmpl.Execute(os.Stdout, it); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	return nil
}

func (a *app) psCommand() *cobra.Command {
	var all bool
	var format string
	cmd := &cobra.Command{
		Use:   "ps [-a] [--format json|TEMPLATE]",
		Short: "List containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			infos, err := sv.List(cmd.Context(), all)
			if err != nil {
				return err
			}
			items := make([]containerJSON, 0, len(infos))
			for _, i := range infos {
				items = append(items, toJSON(i))
			}
			if format != "" && format != "table" {
				return render(format, items)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tCOMMAND\tCREATED\tSTATUS\tRESTARTS\tUNIT")
			for _, it := range items {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", it.Name, shorten(strings.Join(append([]string{it.Path}, it.Args...), " "), 30),
					ago(it.Created), statusText(it.State), it.RestartCount, it.Unit)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show all containers, not only running ones")
	cmd.Flags().StringVar(&format, "format", "", "json, table or a Go template")
	return cmd
}

func (a *app) inspectCommand() *cobra.Command {
	var format string
	var size bool
	cmd := &cobra.Command{
		Use:   "inspect [--format json|TEMPLATE] NAME...",
		Short: "Show containers' configuration and state as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisorFor(args)
			if err != nil {
				return err
			}
			items := make([]containerJSON, 0, len(args))
			for _, n := range args {
				info, err := sv.Inspect(cmd.Context(), n)
				if err != nil {
					return err
				}
				item := toJSON(info)
				if size {
					if err := addSizes(sv, &item); err != nil {
						return err
					}
				}
				items = append(items, item)
			}
			return render(format, items)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "json", "json or a Go template")
	cmd.Flags().BoolVarP(&size, "size", "s", false, "show the container's file system sizes (SizeRootFs, SizeRw)")
	return cmd
}

func (a *app) logsCommand() *cobra.Command {
	var follow bool
	var tail string
	cmd := &cobra.Command{
		Use:   "logs [-f] [--tail N] NAME",
		Short: "Show a container's output from the journal",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisorFor(args)
			if err != nil {
				return err
			}
			unit, err := sv.Unit(args[0])
			if err != nil {
				return err
			}
			journalctl, err := exec.LookPath("journalctl")
			if err != nil {
				return fmt.Errorf("journalctl not found: %w", err)
			}
			// The container's output is tagged with its name; systemd's own
			// messages about the unit are not part of it.
			argv := []string{"journalctl", "--unit", unit, "--identifier", args[0], "--output", "cat", "--no-pager"}
			if follow {
				argv = append(argv, "--follow")
			}
			if tail != "" {
				argv = append(argv, "--lines", tail)
			}
			return syscall.Exec(journalctl, argv, os.Environ())
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output")
	cmd.Flags().StringVar(&tail, "tail", "", "show only the last N lines")
	return cmd
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// ago says how long ago t was, as podman's ps and images do.
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return units.HumanDuration(time.Since(t)) + " ago"
}

func statusText(s stateJSON) string {
	switch s.Status {
	case supervisor.StatusRunning, supervisor.StatusPaused:
		up := "Up " + strings.TrimSuffix(ago(s.StartedAt), " ago")
		if s.Status == supervisor.StatusPaused {
			up += " (paused)"
		} else if s.Health != nil {
			up += " (" + s.Health.Status + ")"
		}
		return up
	case supervisor.StatusExited:
		return fmt.Sprintf("Exited (%d) %s", s.ExitCode, ago(s.FinishedAt))
	}
	return strings.ToUpper(string(s.Status[:1])) + string(s.Status[1:])
}

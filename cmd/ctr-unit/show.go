package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/network"
	"github.com/ctr-unit/ctr-unit/supervisor"
)

// inspectJSON is what inspect shows: podman's names (its
// InspectContainerData) for what ctr-unit has, and ctr-unit's own (Unit).
type inspectJSON struct {
	ID           string            `json:"Id"`
	Created      time.Time         `json:"Created"`
	Path         string            `json:"Path"`
	Args         []string          `json:"Args"`
	State        stateJSON         `json:"State"`
	Image        string            `json:"Image"`
	ImageName    string            `json:"ImageName"`
	Rootfs       string            `json:"Rootfs"`
	Name         string            `json:"Name"`
	RestartCount uint32            `json:"RestartCount"`
	Mounts       []container.Mount `json:"Mounts"`
	Config       configJSON        `json:"Config"`
	HostConfig   hostConfigJSON    `json:"HostConfig"`
	Unit         string            `json:"Unit"`
	// NetworkSettings are read from the network records: what is set up now.
	NetworkSettings networkSettingsJSON `json:"NetworkSettings"`
	SizeRw          *int64              `json:"SizeRw,omitempty"`
	SizeRootFs      *int64              `json:"SizeRootFs,omitempty"`
}

type stateJSON struct {
	Status     supervisor.Status `json:"Status"`
	Running    bool              `json:"Running"`
	Paused     bool              `json:"Paused"`
	Restarting bool              `json:"Restarting"`
	Pid        uint32            `json:"Pid"`
	ExitCode   int               `json:"ExitCode"`
	// Error is why the container's process could not be started.
	Error      string      `json:"Error"`
	StartedAt  time.Time   `json:"StartedAt"`
	FinishedAt time.Time   `json:"FinishedAt"`
	Result     string      `json:"UnitResult,omitempty"`
	OOMKilled  bool        `json:"OOMKilled"`
	Health     *healthJSON `json:"Health,omitempty"`
}

type configJSON struct {
	Hostname    string            `json:"Hostname,omitempty"`
	User        string            `json:"User"`
	Env         []string          `json:"Env"`
	Cmd         []string          `json:"Cmd"`
	Image       string            `json:"Image"`
	WorkingDir  string            `json:"WorkingDir"`
	Labels      map[string]string `json:"Labels"`
	StopSignal  container.Signal  `json:"StopSignal"`
	StopTimeout uint              `json:"StopTimeout"`
	// The healthcheck as podman shows it; nil without one.
	Healthcheck                *healthConfigJSON  `json:"Healthcheck,omitempty"`
	HealthcheckOnFailureAction string             `json:"HealthcheckOnFailureAction,omitempty"`
	StartupHealthCheck         *startupHealthJSON `json:"StartupHealthCheck,omitempty"`
	CreateCommand              []string           `json:"CreateCommand,omitempty"`
}

// healthConfigJSON is podman's (docker's) healthcheck config: durations
// in nanoseconds in JSON, as "30s" in templates.
type healthConfigJSON struct {
	Test        []string      `json:"Test,omitempty"`
	StartPeriod time.Duration `json:"StartPeriod,omitempty"`
	Interval    time.Duration `json:"Interval,omitempty"`
	Timeout     time.Duration `json:"Timeout,omitempty"`
	Retries     int           `json:"Retries,omitempty"`
}

type startupHealthJSON struct {
	healthConfigJSON
	Successes int `json:"Successes,omitempty"`
}

type hostConfigJSON struct {
	RestartPolicy container.RestartPolicy `json:"RestartPolicy"`
	NetworkMode   string                  `json:"NetworkMode"`
	AutoRemove    bool                    `json:"AutoRemove"`
}

// networkSettingsJSON is podman's NetworkSettings: the published ports by
// container port, and the container's place on each network; the
// top-level address fields are those of its only network, if it has one.
type networkSettingsJSON struct {
	endpointJSON
	Ports      map[string][]portBindingJSON `json:"Ports"`
	SandboxKey string                       `json:"SandboxKey"`
	Networks   map[string]networkJSON       `json:"Networks,omitempty"`
}

type endpointJSON struct {
	EndpointID          string `json:"EndpointID"`
	Gateway             string `json:"Gateway"`
	IPAddress           string `json:"IPAddress"`
	IPPrefixLen         int    `json:"IPPrefixLen"`
	IPv6Gateway         string `json:"IPv6Gateway"`
	GlobalIPv6Address   string `json:"GlobalIPv6Address"`
	GlobalIPv6PrefixLen int    `json:"GlobalIPv6PrefixLen"`
	MacAddress          string `json:"MacAddress"`
}

type networkJSON struct {
	endpointJSON
	NetworkID string   `json:"NetworkID"`
	Aliases   []string `json:"Aliases"`
}

type portBindingJSON struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// toNetworkSettings is what inspect shows of a container's network: att
// is its record (nil: nothing set up now, so no addresses; the ports
// with a fixed host port are still shown, as configured).
func toNetworkSettings(cfg *container.Config, att *network.Attachment) networkSettingsJSON {
	out := networkSettingsJSON{Ports: map[string][]portBindingJSON{}}
	ports := cfg.Ports
	if att != nil {
		ports, out.SandboxKey = att.Ports, att.Netns
		out.Networks = map[string]networkJSON{}
		for _, n := range att.Networks {
			var ep endpointJSON
			ep.MacAddress = n.MAC
			for _, a := range n.Addresses {
				if a.Addr().Is4() && ep.IPAddress == "" {
					ep.IPAddress, ep.IPPrefixLen = a.Addr().String(), a.Bits()
				} else if a.Addr().Is6() && ep.GlobalIPv6Address == "" {
					ep.GlobalIPv6Address, ep.GlobalIPv6PrefixLen = a.Addr().String(), a.Bits()
				}
			}
			for _, g := range n.Gateways {
				if g.Is4() && ep.Gateway == "" {
					ep.Gateway = g.String()
				} else if g.Is6() && ep.IPv6Gateway == "" {
					ep.IPv6Gateway = g.String()
				}
			}
			aliases := []string{}
			for _, c := range cfg.Networks {
				if c.Network == n.Network {
					aliases = append(aliases, c.Aliases...)
				}
			}
			out.Networks[n.Network] = networkJSON{endpointJSON: ep, NetworkID: n.Network, Aliases: aliases}
			if len(att.Networks) == 1 {
				out.endpointJSON = ep
			}
		}
	}
	for _, p := range ports {
		if att == nil && p.HostPort == 0 {
			continue
		}
		for i := range uint32(max(p.Range, 1)) {
			key := fmt.Sprintf("%d/%s", uint32(p.ContainerPort)+i, p.Protocol)
			host := ""
			if p.HostPort != 0 {
				host = fmt.Sprint(uint32(p.HostPort) + i)
			}
			out.Ports[key] = append(out.Ports[key], portBindingJSON{HostIP: p.HostIP, HostPort: host})
		}
	}
	return out
}

func toInspectJSON(i *supervisor.Info) inspectJSON {
	c := i.Config
	out := inspectJSON{
		ID: c.ID, Name: c.Name, Created: c.CreatedAt, Args: []string{},
		Rootfs: c.Rootfs, Unit: c.Unit, RestartCount: i.RestartCount(),
		Image: c.ImageID, ImageName: c.Image, Mounts: c.Mounts,
		State: stateJSON{
			Status:     i.Status,
			Running:    i.Status == supervisor.StatusRunning || i.Status == supervisor.StatusPaused,
			Paused:     i.Status == supervisor.StatusPaused,
			Restarting: i.Status == supervisor.StatusRestarting,
			StartedAt:  i.StartedAt,
			Health:     toHealthJSON(i.Health),
		},
		Config: configJSON{
			Hostname: c.Hostname, User: c.User, Env: c.Env, Cmd: c.Command, Image: c.Image,
			WorkingDir: c.WorkDir, Labels: c.Labels,
			StopSignal: c.StopSignal, StopTimeout: uint(c.StopTimeout),
			CreateCommand: c.CreateCommand,
		},
		HostConfig: hostConfigJSON{RestartPolicy: c.Restart, NetworkMode: c.Network, AutoRemove: c.AutoRemove},
	}
	if len(c.Command) > 0 {
		out.Path, out.Args = c.Command[0], c.Command[1:]
	}
	if out.Mounts == nil {
		out.Mounts = []container.Mount{}
	}
	if out.Config.Labels == nil {
		out.Config.Labels = map[string]string{}
	}
	if h := c.Health; h != nil {
		out.Config.Healthcheck = &healthConfigJSON{Test: h.Test, StartPeriod: h.StartPeriod, Interval: h.Interval, Timeout: h.Timeout, Retries: h.Retries}
		out.Config.HealthcheckOnFailureAction = string(h.OnFailure)
		if st := h.Startup; st != nil {
			out.Config.StartupHealthCheck = &startupHealthJSON{
				healthConfigJSON: healthConfigJSON{Test: st.Test, Interval: st.Interval, Timeout: st.Timeout, Retries: st.Retries},
				Successes:        st.Successes,
			}
		}
	}
	if out.State.Running {
		out.State.Pid = i.Pid
	}
	if i.Exit != nil {
		out.State.ExitCode = i.Exit.ExitCode
		out.State.FinishedAt = i.Exit.FinishedAt
		out.State.Result = i.Exit.Result
		out.State.Error = i.Exit.Error
		out.State.OOMKilled = i.Exit.OOMKilled
	}
	return out
}

// psJSON is an item of ps --format json: podman's (its ListContainer,
// the creation time in Unix seconds), then ctr-unit's own names, which
// scripts written for ctr-unit use.
type psJSON struct {
	AutoRemove bool              `json:"AutoRemove"`
	Command    []string          `json:"Command"`
	Created    int64             `json:"Created"`
	CreatedAt  string            `json:"CreatedAt"`
	Exited     bool              `json:"Exited"`
	ExitedAt   int64             `json:"ExitedAt"`
	ExitCode   int               `json:"ExitCode"`
	ID         string            `json:"Id"`
	Image      string            `json:"Image"`
	ImageID    string            `json:"ImageID"`
	Labels     map[string]string `json:"Labels"`
	Mounts     []string          `json:"Mounts"`
	Names      []string          `json:"Names"`
	Networks   []string          `json:"Networks"`
	Pid        uint32            `json:"Pid"`
	Ports      []string          `json:"Ports"`
	Restarts   uint32            `json:"Restarts"`
	StartedAt  int64             `json:"StartedAt"`
	State      supervisor.Status `json:"State"`
	Status     string            `json:"Status"`

	Name         string         `json:"Name"`
	Path         string         `json:"Path"`
	Args         []string       `json:"Args"`
	Rootfs       string         `json:"Rootfs"`
	Unit         string         `json:"Unit"`
	ImageName    string         `json:"ImageName,omitempty"`
	RestartCount uint32         `json:"RestartCount"`
	Config       configJSON     `json:"Config"`
	HostConfig   hostConfigJSON `json:"HostConfig"`

	// created and state are what templates show as .Created and .State.
	created time.Time
	state   stateJSON
}

func toPSJSON(i *supervisor.Info) psJSON {
	in := toInspectJSON(i)
	c := i.Config
	out := psJSON{
		AutoRemove: c.AutoRemove, Command: c.Command, Created: c.CreatedAt.Unix(), CreatedAt: ago(c.CreatedAt),
		Exited: i.Status == supervisor.StatusExited, ExitCode: in.State.ExitCode,
		ID: c.ID, Image: c.Image, ImageID: c.ImageID, Labels: in.Config.Labels, Mounts: []string{},
		Names: []string{c.Name}, Networks: []string{}, Pid: in.State.Pid, Ports: []string{},
		Restarts: in.RestartCount, State: i.Status, Status: statusText(in.State),
		Name: c.Name, Path: in.Path, Args: in.Args, Rootfs: c.Rootfs, Unit: c.Unit, ImageName: c.Image,
		RestartCount: in.RestartCount, Config: in.Config, HostConfig: in.HostConfig,
		created: c.CreatedAt, state: in.State,
	}
	if !in.State.FinishedAt.IsZero() {
		out.ExitedAt = in.State.FinishedAt.Unix()
	}
	if !in.State.StartedAt.IsZero() {
		out.StartedAt = in.State.StartedAt.Unix()
	}
	for _, m := range c.Mounts {
		out.Mounts = append(out.Mounts, m.Destination)
	}
	out.Networks = append(out.Networks, c.NetworkNames()...)
	return out
}

// publishedNow are cfg's published ports: as set up now (host ports that
// were picked at start resolved), else as configured, the ones whose
// host port is picked at start left out.
func publishedNow(rt *network.Runtime, cfg *container.Config) []network.PortMapping {
	if len(cfg.Ports) == 0 {
		return nil
	}
	if att, err := rt.Attachment(cfg.Name); err == nil && att != nil {
		return att.Ports
	}
	var out []network.PortMapping
	for _, p := range cfg.Ports {
		if p.HostPort != 0 {
			out = append(out, p)
		}
	}
	return out
}

// portStrings are ports as podman's ps prints them:
// 0.0.0.0:8080->80/tcp, 127.0.0.1:9000-9001->90-91/udp.
func portStrings(ports []network.PortMapping) []string {
	out := []string{}
	for _, p := range ports {
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		host, ctr := fmt.Sprint(p.HostPort), fmt.Sprint(p.ContainerPort)
		if n := max(p.Range, 1); n > 1 {
			host += fmt.Sprintf("-%d", uint32(p.HostPort)+uint32(n)-1)
			ctr += fmt.Sprintf("-%d", uint32(p.ContainerPort)+uint32(n)-1)
		}
		out = append(out, fmt.Sprintf("%s->%s/%s", net.JoinHostPort(ip, host), ctr, p.Protocol))
	}
	return out
}

// psItem is what a ps template sees: psJSON's fields, with podman's
// template names over them (.ID the short ID, .Names the name, .Command
// one string, .CreatedAt the time), .Created the time and .State the
// state, which prints as podman's (running) and still has ctr-unit's
// .State.Status and the rest.
type psItem struct {
	psJSON
	noTrunc bool
}

// ID is the short ID, as podman's ps shows it.
func (p psItem) ID() string {
	if p.noTrunc {
		return p.psJSON.ID
	}
	return container.ShortID(p.psJSON.ID)
}

// ImageID is the short image ID.
func (p psItem) ImageID() string {
	if p.noTrunc {
		return p.psJSON.ImageID
	}
	return container.ShortID(strings.TrimPrefix(p.psJSON.ImageID, "sha256:"))
}

// Names is the container's name.
func (p psItem) Names() string { return p.Name }

// Command is the command line as one string, cut as podman's ps cuts it.
func (p psItem) Command() string {
	line := strings.Join(p.psJSON.Command, " ")
	if !p.noTrunc && len(line) > 17 {
		return line[:17] + "..."
	}
	return line
}

// Created is when the container was created.
func (p psItem) Created() time.Time { return p.created }

// CreatedAt is the creation time as podman's ps template prints it.
func (p psItem) CreatedAt() string { return p.created.String() }

// CreatedHuman and RunningFor say how long ago that was.
func (p psItem) CreatedHuman() string { return ago(p.created) }
func (p psItem) RunningFor() string   { return ago(p.created) }

// Ports are the published ports, as podman prints them.
func (p psItem) Ports() string { return strings.Join(p.psJSON.Ports, ", ") }

// State is the container's state.
func (p psItem) State() psState { return psState{p.state} }

// psState prints as the state's name (running), as in podman and docker,
// and keeps inspect's fields (.State.Status, .State.ExitCode, ...).
type psState struct{ stateJSON }

func (s psState) String() string { return string(s.Status) }

// psHeaders are ps's column names, podman's.
func psHeaders() headerNode {
	return headers(reflect.TypeFor[psItem](), map[string]string{
		"ID": "CONTAINER ID", "CreatedHuman": "CREATED", "RunningFor": "RUNNING FOR", "Restarts": "RESTARTS",
	})
}

// printPS writes ps's listing in format.
func printPS(w io.Writer, format string, list []psJSON, items []any) error {
	switch {
	case isJSON(format):
		if list == nil {
			list = []psJSON{}
		}
		return writeJSON(w, list)
	case format != "" && format != "table":
		return renderTemplate(w, format, items, psHeaders())
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCOMMAND\tCREATED\tSTATUS\tRESTARTS\tUNIT")
	for _, p := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", p.Name, shorten(strings.Join(p.Command, " "), 30),
			ago(p.created), p.Status, p.RestartCount, p.Unit)
	}
	return tw.Flush()
}

func (a *app) psCommand() *cobra.Command {
	var all, noTrunc bool
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:   "ps [-a] [--filter KEY=VALUE] [--format json|TEMPLATE]",
		Short: "List containers",
		Long: "List containers. --filter takes name=REGEXP, id=PREFIX, label=KEY[=VALUE] and\n" +
			"status=STATE (created, running, paused, restarting, stopping, exited), each\n" +
			"repeatable: a container must match every key, and one of a key's values.\n" +
			"--format takes json, a Go template of podman's fields (.ID, .Names, .Image,\n" +
			".Command, .Status, .State, .CreatedAt, .Labels, .Ports, ...), or table TEMPLATE.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			filter, err := parsePSFilters(filters)
			if err != nil {
				return err
			}
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			// As in podman and docker, a status filter lists them all.
			infos, err := sv.List(cmd.Context(), all || len(filter["status"]) > 0)
			if err != nil {
				return err
			}
			rt := &network.Runtime{RuntimeDir: a.globals.RuntimeDir}
			var list []psJSON
			items := []any{}
			for _, i := range infos {
				if !filter.match(i) {
					continue
				}
				p := toPSJSON(i)
				p.Ports = portStrings(publishedNow(rt, i.Config))
				list = append(list, p)
				items = append(items, psItem{psJSON: p, noTrunc: noTrunc})
			}
			// Tables and templates write cell by cell: one write to the
			// terminal per cell would be most of a long listing's cost.
			out := bufio.NewWriter(os.Stdout)
			return errors.Join(printPS(out, format, list, items), out.Flush())
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show all containers, not only running ones")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "show IDs and commands whole")
	cmd.Flags().StringArrayVarP(&filters, "filter", "f", nil, "show only containers that match KEY=VALUE (name, id, label, status)")
	cmd.Flags().StringVar(&format, "format", "", "json, table or a Go template")
	return cmd
}

// inspectID is podman's: {{.Id}} means {{.ID}}. Compiled where a format
// uses it, not as every command starts.
func inspectID() *regexp.Regexp { return regexp.MustCompile(`\{\{\s*\.Id\s*\}\}`) }

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
			rt := &network.Runtime{RuntimeDir: a.globals.RuntimeDir}
			list := make([]inspectJSON, 0, len(args))
			for _, n := range args {
				info, err := sv.Inspect(cmd.Context(), n)
				if err != nil {
					return err
				}
				item := toInspectJSON(info)
				att, err := rt.Attachment(info.Config.Name)
				// A user who may not read the records sees no addresses.
				if err != nil && !errors.Is(err, fs.ErrPermission) {
					return fmt.Errorf("container %s: reading its network record: %w", n, err)
				}
				item.NetworkSettings = toNetworkSettings(info.Config, att)
				if size {
					if err := addSizes(sv, &item); err != nil {
						return err
					}
				}
				list = append(list, item)
			}
			if format == "" || isJSON(format) {
				return writeJSON(os.Stdout, list)
			}
			items := make([]any, len(list))
			for i := range list {
				items[i] = list[i]
			}
			return renderTemplate(os.Stdout, inspectID().ReplaceAllString(format, "{{.ID}}"), items, headers(reflect.TypeFor[inspectJSON](), nil))
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

// statusText is ps's status, as podman's: Up 5 minutes, Exited (0) 2
// seconds ago, Paused, with the health in parentheses.
func statusText(s stateJSON) string {
	var text string
	switch s.Status {
	case supervisor.StatusRunning:
		text = "Up " + strings.TrimSuffix(ago(s.StartedAt), " ago")
	case supervisor.StatusExited:
		text = fmt.Sprintf("Exited (%d) %s", s.ExitCode, ago(s.FinishedAt))
	default:
		text = strings.ToUpper(string(s.Status[:1])) + string(s.Status[1:])
	}
	if s.Health != nil && s.Health.Status != "" {
		text += " (" + s.Health.Status + ")"
	}
	return text
}

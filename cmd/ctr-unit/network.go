package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/network"
	"github.com/ctr-unit/ctr-unit/recordstore"
)

// networkCommands are network create, ls, inspect, rm and prune, with
// podman's options and output where they fit.
func (a *app) networkCommand() *cobra.Command {
	var configDir string
	cmd := commandGroup("network", "Manage networks")
	// podman calls it --network-config-dir too.
	cmd.PersistentFlags().StringVar(&configDir, "network-config-dir", network.ConfigDirFromEnv(os.Getenv), "where network definitions are kept")
	store := func() *network.Store {
		return &network.Store{Dir: configDir, PodmanDir: network.PodmanConfigDir}
	}
	runtime := func() *network.Runtime {
		return &network.Runtime{Store: store(), RuntimeDir: a.globals.RuntimeDir}
	}
	inspect, rm := networkInspectCommand(store), a.networkRmCommand(store, runtime)
	inspect.ValidArgsFunction = completeStoredNetworks(store)
	rm.ValidArgsFunction = completeStoredNetworks(store)
	cmd.AddCommand(
		a.networkCreateCommand(store),
		networkLsCommand(store),
		inspect,
		rm,
		a.networkPruneCommand(store, runtime),
	)
	return cmd
}

// completeStoredNetworks completes the names of the networks defined in
// the store, for every argument (inspect and rm take several).
func completeStoredNetworks(store func() *network.Store) completer {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		// A file that does not parse leaves the others listed.
		nets, _ := store().List()
		var names []string
		for _, n := range nets {
			if n != nil && strings.HasPrefix(n.Name, toComplete) {
				names = append(names, n.Name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

func (a *app) networkCreateCommand(store func() *network.Store) *cobra.Command {
	var o network.CreateOptions
	var disableDNS bool
	var opts []string
	cmd := &cobra.Command{
		Use:   "create [--subnet CIDR] [--gateway IP] [--internal] [--ipv6] NAME",
		Short: "Create a network",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			o.NoDNS = disableDNS
			var err error
			if o.Options, err = parseKeyValues("--opt", opts); err != nil {
				return err
			}
			n, err := store().Create(o)
			if err != nil {
				return err
			}
			fmt.Println(n.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Subnets, "subnet", nil, "subnet in CIDR notation (one IPv4 and one IPv6 at most)")
	f.StringArrayVar(&o.Gateways, "gateway", nil, "gateway of the subnet given before it (default: its first address)")
	f.StringArrayVar(&o.IPRanges, "ip-range", nil, "give out addresses from this range (CIDR) of the subnet only")
	f.BoolVar(&o.Internal, "internal", false, "no route out of the network, no published ports")
	f.BoolVar(&o.IPv6, "ipv6", false, "also give IPv6 addresses (a random unique-local /64 unless --subnet gives one)")
	f.BoolVar(&disableDNS, "disable-dns", false, "containers do not find each other by name")
	f.StringVar(&o.Interface, "interface-name", "", "name of the bridge on the host (default: ctrN)")
	f.StringArrayVarP(&opts, "opt", "o", nil, "driver option: isolate=true|false, mtu=N, metric=N")
	f.StringP("driver", "d", "bridge", "driver (only bridge)")
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if d, _ := f.GetString("driver"); d != "bridge" {
			return fmt.Errorf("--driver %q: only bridge is supported", d)
		}
		return nil
	}
	return cmd
}

func parseKeyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

func networkLsCommand(store func() *network.Store) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls [--format json|table|TEMPLATE] [-q]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			nets, err := store().List()
			if err != nil {
				return err
			}
			switch {
			case quiet:
				for _, n := range nets {
					fmt.Println(n.Name)
				}
				return nil
			case format != "" && format != "table":
				return renderNetworks(os.Stdout, format, nets)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NETWORK ID\tNAME\tDRIVER")
			for _, n := range nets {
				fmt.Fprintf(w, "%s\t%s\t%s\n", n.ID[:12], n.Name, n.Driver)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "json, table or a Go template")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "names only")
	return cmd
}

func networkInspectCommand(store func() *network.Store) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [--format json|TEMPLATE] NAME...",
		Short: "Show networks in detail",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var nets []*network.Network
			for _, name := range args {
				n, err := store().Get(name)
				if err != nil {
					return err
				}
				nets = append(nets, n)
			}
			return renderNetworks(os.Stdout, format, nets)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "json", "json or a Go template")
	return cmd
}

// inUse names the containers attached to a network now, and those whose
// records name it (stopped ones would fail to start without it).
func (a *app) inUse(cmd *cobra.Command, runtime func() *network.Runtime) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		users, err := runtime().Users(cmd.Context(), name)
		if err != nil {
			return nil, err
		}
		records := recordstore.Open(a.globals.Dirs)
		names, err := records.Names()
		if err != nil {
			return nil, err
		}
		for _, c := range names {
			cfg, err := records.Config(c)
			if err != nil {
				continue // removed meanwhile
			}
			if slices.Contains(cfg.NetworkNames(), name) && !slices.Contains(users, c) {
				users = append(users, c)
			}
		}
		slices.Sort(users)
		return users, nil
	}
}

func (a *app) networkRmCommand(store func() *network.Store, runtime func() *network.Runtime) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove networks",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := 0
			for _, name := range args {
				if err := store().Remove(name, a.inUse(cmd, runtime)); err != nil {
					if len(args) == 1 {
						return err
					}
					fmt.Fprintln(os.Stderr, "ctr-unit:", err)
					failed++
					continue
				}
				fmt.Println(name)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d networks not removed", failed, len(args))
			}
			return nil
		},
	}
}

func (a *app) networkPruneCommand(store func() *network.Store, runtime func() *network.Runtime) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [-f]",
		Short: "Remove every network no container uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force && !confirm(os.Stdin, "WARNING! This will remove all networks not used by at least one container.\nAre you sure you want to continue? [y/N] ") {
				return fmt.Errorf("not confirmed: nothing removed (-f removes without asking)")
			}
			removed, err := store().Prune(a.inUse(cmd, runtime))
			for _, name := range removed {
				fmt.Println(name)
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	return cmd
}

func confirm(in io.Reader, prompt string) bool {
	fmt.Fprint(os.Stderr, prompt)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes"
}

// renderNetworks writes networks as a JSON array (podman's inspect and ls
// --format json), or each through a Go template.
func renderNetworks(w io.Writer, format string, nets []*network.Network) error {
	if format == "json" || format == "" {
		if nets == nil {
			nets = []*network.Network{}
		}
		data, err := json.MarshalIndent(nets, "", "     ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	}
	tmpl, err := template.New("format").Parse(strings.TrimSuffix(format, "\n") + "\n")
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	for _, n := range nets {
		if err := tmpl.Execute(w, templateNetwork(n)); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	return nil
}

// templateNetwork gives templates podman's field names ({{.Name}},
// {{.NetworkInterface}}, {{range .Subnets}}{{.Subnet}}{{end}}...).
func templateNetwork(n *network.Network) map[string]any {
	var subnets []map[string]any
	for _, s := range n.Subnets {
		subnets = append(subnets, map[string]any{"Subnet": s.Subnet.String(), "Gateway": s.Gateway.String(), "LeaseRange": s.LeaseRange})
	}
	return map[string]any{
		"Name": n.Name, "ID": n.ID, "Driver": n.Driver, "NetworkInterface": n.Interface,
		"Created": n.Created, "Subnets": subnets, "IPv6Enabled": n.IPv6, "Internal": n.Internal,
		"DNSEnabled": n.DNSEnabled, "Options": n.Options, "IPAMOptions": n.IPAMOptions,
	}
}

// portCommand is podman's port: a running container's published ports,
// as they were set up (a host port of 0 shows the one picked).
func (a *app) portCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "port NAME [CTRPORT[/PROTO]]",
		Short: "List a container's published ports",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			// The container must exist; one without a network set up now
			// has nothing published.
			if _, err := sv.Inspect(cmd.Context(), args[0]); err != nil {
				return err
			}
			rt := &network.Runtime{RuntimeDir: a.globals.RuntimeDir}
			att, err := rt.Attachment(args[0])
			if err != nil {
				return err
			}
			if att == nil {
				return nil
			}
			want := ""
			if len(args) == 2 {
				want = args[1]
				if !strings.Contains(want, "/") {
					want += "/tcp"
				}
			}
			for _, p := range att.Ports {
				n := max(p.Range, 1)
				for i := range n {
					ctr := fmt.Sprintf("%d/%s", p.ContainerPort+i, p.Protocol)
					if want != "" && want != ctr {
						continue
					}
					ip := p.HostIP
					if ip == "" {
						ip = "0.0.0.0"
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s\n", ctr, net.JoinHostPort(ip, fmt.Sprint(p.HostPort+i)))
				}
			}
			return nil
		},
	}
}

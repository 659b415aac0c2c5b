//go:build containers_image_openpgp

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/ctr-unit/ctr-unit/transfer"
)

// isTerminal says whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// registryFlags are the flags of commands that reach registries, with
// podman's names.
type registryFlags struct {
	o         transfer.Options
	tlsVerify bool
	quiet     bool
}

func (r *registryFlags) bind(cmd *cobra.Command, creds bool) {
	f := cmd.Flags()
	f.StringVar(&r.o.AuthFile, "authfile", "", "credentials file (default: $REGISTRY_AUTH_FILE, else podman's: ${XDG_RUNTIME_DIR}/containers/auth.json, then ~/.docker/config.json...)")
	f.StringVar(&r.o.CertDir, "cert-dir", "", "directory of certificates (*.crt CAs, *.cert/*.key client pair) for the registry")
	f.BoolVar(&r.tlsVerify, "tls-verify", true, "require HTTPS and a verified certificate (unset: registries.conf's insecure entries decide)")
	if creds {
		f.StringVar(&r.o.Creds, "creds", "", "USERNAME:PASSWORD for the registry")
		f.StringVar(&r.o.SignaturePolicy, "signature-policy", "", "policy.json to verify images with (default: $CONTAINERS_POLICY_JSON, else /etc/containers/policy.json)")
	}
}

// options are the transfer's options; progress bars only on a terminal.
func (r *registryFlags) options(cmd *cobra.Command) transfer.Options {
	o := r.o
	if cmd.Flags().Changed("tls-verify") {
		v := r.tlsVerify
		o.TLSVerify = &v
	}
	if !r.quiet && isTerminal(os.Stderr) {
		o.Progress = os.Stderr
	}
	return o
}

func (a *app) pullCommand() *cobra.Command {
	var rf registryFlags
	var policy string
	var retries int
	var retryDelay time.Duration
	var printName, logProgress, dryRun bool
	cmd := &cobra.Command{
		Use:   "pull [--policy always|missing|newer|never] IMAGE...",
		Short: "Pull images from a registry (or TRANSPORT:DETAILS) into the image store",
		Long: "Pull images from a registry into the image store and print their IDs.\n\n" +
			"IMAGE is [docker://][REGISTRY/]NAME[:TAG|@DIGEST]; a short name (no registry) is resolved by\n" +
			"registries.conf's aliases and unqualified-search-registries, and more than one candidate is an\n" +
			"error unless a terminal lets you choose. docker-archive:, oci-archive:, oci:, dir: and\n" +
			"containers-storage: (another store, e.g. podman's) also work.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := transfer.ParsePolicy(policy)
			if err != nil {
				return err
			}
			store, err := a.openImages()
			if err != nil {
				return err
			}
			defer store.Close()
			o := rf.options(cmd)
			if logProgress && !rf.quiet {
				// A unit's pull: one line per blob in the journal.
				o.Progress = os.Stderr
			}
			o.DryRun = dryRun
			for _, ref := range args {
				pulled, err := transfer.PullRetrying(cmd.Context(), store, ref, p, o, retries, retryDelay, os.Stderr)
				if err != nil {
					return err
				}
				switch {
				case dryRun && pulled.Pending:
					fmt.Println("pending", pulled.Name)
				case dryRun:
					fmt.Println("current", pulled.Name)
				case printName:
					fmt.Println(pulled.ID, pulled.Name)
				default:
					fmt.Println(pulled.ID)
				}
			}
			return nil
		},
	}
	rf.bind(cmd, true)
	cmd.Flags().StringVar(&policy, "policy", "always", "when to pull: always, missing, newer or never")
	cmd.Flags().IntVar(&retries, "retry", 3, "times to try again after a failure that may pass (network, registry errors)")
	cmd.Flags().DurationVar(&retryDelay, "retry-delay", 0, "wait between tries (default: 1s, then doubling)")
	// ctr-unit's own: run/create learn the name the image was found by,
	// and a unit's pull shows its progress in the journal.
	cmd.Flags().BoolVar(&printName, "print-name", false, "print ID NAME (the fully qualified name)")
	cmd.Flags().BoolVar(&logProgress, "log-progress", false, "progress lines even when stderr is no terminal")
	// auto-update --dry-run's: "pending NAME" if the pull would fetch an
	// image, else "current NAME"; nothing is stored.
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only say whether the pull would fetch an image")
	_ = cmd.Flags().MarkHidden("dry-run")
	_ = cmd.Flags().MarkHidden("print-name")
	_ = cmd.Flags().MarkHidden("log-progress")
	cmd.Flags().BoolVarP(&rf.quiet, "quiet", "q", false, "no progress output")
	return cmd
}

func (a *app) pushCommand() *cobra.Command {
	var rf registryFlags
	var format, digestFile string
	cmd := &cobra.Command{
		Use:   "push IMAGE [DESTINATION]",
		Short: "Push an image to a registry (or TRANSPORT:DETAILS)",
		Long: "Push a stored image to DESTINATION: [docker://]REGISTRY/NAME[:TAG], or TRANSPORT:DETAILS\n" +
			"(docker-archive:, oci-archive:, oci:, dir:, containers-storage:). Without DESTINATION, the\n" +
			"image's own name says where.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.openImages()
			if err != nil {
				return err
			}
			defer store.Close()
			dest := ""
			if len(args) == 2 {
				dest = args[1]
			}
			d, err := transfer.Push(cmd.Context(), store, args[0], dest, transfer.PushOptions{Options: rf.options(cmd), Format: format})
			if err != nil {
				return err
			}
			if digestFile != "" {
				if err := os.WriteFile(digestFile, []byte(d.String()), 0o644); err != nil {
					return fmt.Errorf("--digestfile: %w", err)
				}
			}
			return nil
		},
	}
	rf.bind(cmd, true)
	cmd.Flags().StringVarP(&format, "format", "f", "", "manifest format: oci or v2s2 (default: as the image is)")
	cmd.Flags().StringVar(&digestFile, "digestfile", "", "write the pushed manifest's digest to this file")
	cmd.Flags().BoolVarP(&rf.quiet, "quiet", "q", false, "no progress output")
	return cmd
}

func (a *app) loadCommand() *cobra.Command {
	var input string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load -i FILE",
		Short: "Load images from a docker-archive or an OCI archive (or layout directory)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if input == "" {
				return errors.New("give the archive with -i FILE")
			}
			store, err := a.openImages()
			if err != nil {
				return err
			}
			defer store.Close()
			var o transfer.Options
			if !quiet && isTerminal(os.Stderr) {
				o.Progress = os.Stderr
			}
			loaded, err := transfer.Load(cmd.Context(), store, input, o)
			if err != nil {
				return err
			}
			for _, l := range loaded {
				if len(l.Names) == 0 {
					fmt.Println("Loaded image: sha256:" + l.ID)
				}
				for _, n := range l.Names {
					fmt.Println("Loaded image: " + n)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "archive to load")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	return cmd
}

func (a *app) saveCommand() *cobra.Command {
	var output, format string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "save -o FILE [--format docker-archive|oci-archive] IMAGE...",
		Short: "Write images to an archive",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return errors.New("give the archive to write with -o FILE")
			}
			store, err := a.openImages()
			if err != nil {
				return err
			}
			defer store.Close()
			var o transfer.Options
			if !quiet && isTerminal(os.Stderr) {
				o.Progress = os.Stderr
			}
			return transfer.Save(cmd.Context(), store, args, output, format, o)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "archive to write")
	cmd.Flags().StringVar(&format, "format", transfer.FormatDockerArchive, "docker-archive (several images) or oci-archive (one)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	return cmd
}

func (a *app) importCommand() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "import FILE NAME[:TAG]",
		Short: "Make an image from a root filesystem tarball",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.openImages()
			if err != nil {
				return err
			}
			defer store.Close()
			var o transfer.Options
			if !quiet && isTerminal(os.Stderr) {
				o.Progress = os.Stderr
			}
			l, err := transfer.Import(cmd.Context(), store, args[0], args[1], o)
			if err != nil {
				return err
			}
			fmt.Println("sha256:" + l.ID)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	return cmd
}

func (a *app) loginCommand() *cobra.Command {
	var rf registryFlags
	var user, password string
	var passwordStdin, getLogin bool
	cmd := &cobra.Command{
		Use:   "login [-u USER] [-p PASSWORD | --password-stdin] REGISTRY",
		Short: "Log in to a registry",
		Long: "Check a user and password with a registry and store them where podman keeps them:\n" +
			"--authfile, else $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json\n" +
			"(/run/containers/UID/auth.json without XDG_RUNTIME_DIR). podman login's credentials work here\n" +
			"and the other way round.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := rf.options(cmd)
			if getLogin {
				u, err := transfer.LoggedInUser(args[0], o)
				if err != nil {
					return err
				}
				fmt.Println(u)
				return nil
			}
			if passwordStdin {
				if password != "" {
					return errors.New("give --password or --password-stdin, not both")
				}
				line, err := bufio.NewReader(os.Stdin).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("read the password from stdin: %w", err)
				}
				password = strings.TrimRight(line, "\r\n")
			}
			if user == "" || password == "" {
				if !isTerminal(os.Stdin) {
					return errors.New("login: give --username and --password or --password-stdin (no terminal to ask on)")
				}
				if err := prompt(&user, &password); err != nil {
					return err
				}
			}
			if _, err := transfer.Login(cmd.Context(), args[0], user, password, o); err != nil {
				return err
			}
			fmt.Println("Login Succeeded!")
			return nil
		},
	}
	rf.bind(cmd, false)
	cmd.Flags().StringVarP(&user, "username", "u", "", "user name")
	cmd.Flags().StringVarP(&password, "password", "p", "", "password (visible to other users in the process list: prefer --password-stdin)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	cmd.Flags().BoolVar(&getLogin, "get-login", false, "print the user logged in to REGISTRY")
	return cmd
}

// prompt asks for what is missing of user and password on the terminal.
func prompt(user, password *string) error {
	if *user == "" {
		fmt.Fprint(os.Stderr, "Username: ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil {
			return fmt.Errorf("read the username: %w", err)
		}
		*user = strings.TrimSpace(line)
	}
	if *password == "" {
		fmt.Fprint(os.Stderr, "Password: ")
		p, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return fmt.Errorf("read the password: %w", err)
		}
		*password = string(p)
	}
	return nil
}

func (a *app) logoutCommand() *cobra.Command {
	var authFile string
	var all bool
	cmd := &cobra.Command{
		Use:   "logout [--all] [REGISTRY]",
		Short: "Remove a registry's stored credentials",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := transfer.Options{AuthFile: authFile}
			if all {
				if len(args) > 0 {
					return errors.New("give REGISTRY or --all, not both")
				}
				if err := transfer.Logout("", true, o); err != nil {
					return err
				}
				fmt.Println("Removed login credentials for all registries")
				return nil
			}
			if len(args) == 0 {
				return errors.New("give the REGISTRY to log out from, or --all")
			}
			if err := transfer.Logout(args[0], false, o); err != nil {
				return err
			}
			fmt.Println("Removed login credentials for " + args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&authFile, "authfile", "", "credentials file (default: as login's)")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove the credentials of every registry")
	return cmd
}

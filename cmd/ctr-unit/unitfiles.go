package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/definition"
)

// generatorName is the name under which this binary acts as a systemd
// generator (a symlink in a system-generators directory).
const generatorName = "ctr-unit-generator"

func (a *app) generateCommand() *cobra.Command {
	cmd := commandGroup("generate", "Generate files for other tools")
	var files, fresh bool
	var dir string
	sys := &cobra.Command{
		Use:   "systemd [--new] [--files [--dir DIR]] NAME",
		Short: "Print a standalone systemd unit file that runs a container",
		Long: "Print a standalone unit file for a container, named as the container's unit.\n" +
			"Installed in /etc/systemd/system it replaces the transient unit or the\n" +
			"ctr@.service template for that container; ctr-unit start and systemctl\n" +
			"then both start it from the file.\n\n" +
			"With --new, as podman's --new, the unit needs no existing container: it\n" +
			"creates the container as it starts (create --replace, with the options the\n" +
			"container was created with) and removes it when it stops, so the file alone\n" +
			"runs the container on another machine with ctr-unit and the image (or\n" +
			"rootfs directory). Start it with systemctl; ctr-unit start cannot, as no\n" +
			"container exists while the unit is stopped.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisorFor(args)
			if err != nil {
				return err
			}
			unitName, text, err := sv.GenerateUnit(args[0], strings.Join(os.Args, " "), fresh)
			if err != nil {
				return err
			}
			if !files {
				_, err := os.Stdout.Write(text)
				return err
			}
			path := filepath.Join(dir, unitName)
			if err := os.WriteFile(path, text, 0o644); err != nil {
				return fmt.Errorf("write unit file: %w", err)
			}
			fmt.Println(path)
			return nil
		},
	}
	unitCmd := &cobra.Command{
		Use:   "unit FILE|NAME",
		Short: "Print the unit the generator makes of a definition file",
		Long: "Print what ctr-unit-generator makes of a definition file (NAME.container,\n" +
			"with its drop-ins) at boot and at every daemon-reload, as quadlet's -dryrun:\n" +
			"the template ctr@.service, the drop-in that makes ctr@NAME.service run the\n" +
			"container, and the symlinks its [Install] section asks for. NAME is a container\n" +
			"defined in " + strings.Join(definition.DefaultDirs(), ", ") + ". A file with problems gives them\n" +
			"with their lines, and the command fails.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.refresh = false // the file's problems are the answer
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			text, err := sv.GenerateDefinition(args[0])
			if err != nil {
				var probs definition.Problems
				if errors.As(err, &probs) {
					for _, p := range probs {
						fmt.Fprintln(os.Stderr, p.Error())
					}
					return fmt.Errorf("%s has problems", args[0])
				}
				return err
			}
			_, err = os.Stdout.Write(text)
			return err
		},
	}
	cmd.AddCommand(unitCmd)
	sys.Flags().BoolVar(&fresh, "new", false, "a unit that creates the container as it starts and removes it as it stops")
	sys.Flags().BoolVar(&files, "files", false, "write the unit to a file named after it instead of printing it")
	sys.Flags().StringVar(&dir, "dir", ".", "directory for --files")
	cmd.AddCommand(sys)
	return cmd
}

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check container definition files (NAME.container)",
		Long: "Check definition files, with their drop-ins, and report every problem with its\n" +
			"file and line. A file outside the definition directories is read with the\n" +
			"drop-ins beside it (FILE.d/).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.refresh = false // a bad file would be reported twice
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			bad := 0
			for _, path := range args {
				err := sv.Validate(path)
				var probs definition.Problems
				switch {
				case err == nil:
					fmt.Printf("%s: ok\n", path)
				case errors.As(err, &probs):
					bad++
					for _, p := range probs {
						fmt.Fprintln(os.Stderr, p.Error())
					}
				default:
					bad++
					fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
				}
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d files have problems", bad, len(args))
			}
			return nil
		},
	}
}

// generatorLog logs to the kernel log, which is what a generator has
// before journald runs; stderr where that cannot be opened.
func generatorLog() func(string, ...any) {
	out := os.Stderr
	// In a container (systemd passes $container on) /dev/kmsg is the
	// host's: stay out of it, as systemd itself does.
	if os.Getenv("container") == "" {
		if f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0); err == nil {
			out = f
		}
	}
	return func(format string, args ...any) {
		fmt.Fprintf(out, "%s: %s\n", generatorName, fmt.Sprintf(format, args...))
	}
}

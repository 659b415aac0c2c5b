package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/google/renameio/v2"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/rootfs"
	"github.com/ctr-unit/ctr-unit/supervisor"
	"github.com/ctr-unit/ctr-unit/volume"
)

// imageArgs splits run/create's arguments: without --rootfs the first is
// the IMAGE and the rest the command (as podman run IMAGE [CMD...]); with
// --rootfs all of them are the command.
func imageArgs(o *container.Options, args []string) {
	if o.Rootfs == "" && len(args) > 0 {
		o.Image, o.Command = args[0], args[1:]
		return
	}
	o.Command = args
}

// openImages opens the image store; image commands that touch no
// container need neither systemd nor the container records.
// volumes opens the supervisor and its named volumes.
func (a *app) volumes() (*supervisor.Supervisor, *volume.Store, error) {
	sv, err := a.supervisor()
	if err != nil {
		return nil, nil, err
	}
	vols, err := rootfs.New(a.globals.Dirs, a.storageDriver).Volumes()
	return sv, vols, err
}

func (a *app) openImages() (*imagestore.Store, error) {
	return imagestore.Open(rootfs.StorageOptions(a.globals.Dirs, a.storageDriver))
}

func (a *app) imageCommands() []*cobra.Command {
	image := commandGroup("image", "Manage images")
	image.AddCommand(a.imageInspectCommand(), a.imagesCommand("ls"), a.rmiCommand("rm"),
		a.tagCommand(), a.untagCommand(), a.pruneCommand())
	image.AddCommand(transferCommands(false)...)
	volumeCmd := commandGroup("volume", "Manage named volumes")
	volumeCmd.AddCommand(a.volumeCreateCommand(), a.volumeLsCommand(), a.volumeRmCommand(), a.volumeInspectCommand())
	return append([]*cobra.Command{
		image, a.imagesCommand("images"), a.rmiCommand("rmi"), a.tagCommand(), a.untagCommand(),
		a.exportCommand(), a.mountCommand(), a.umountCommand(), volumeCmd,
	}, transferCommands(true)...)
}

// imageJSON is what images --format json shows, podman's field names.
type imageJSON struct {
	ID          string    `json:"Id"`
	Names       []string  `json:"Names"`
	Digest      string    `json:"Digest"`
	RepoDigests []string  `json:"RepoDigests"`
	Created     time.Time `json:"Created"`
	Size        int64     `json:"Size"`
}

func (a *app) imagesCommand(use string) *cobra.Command {
	var format string
	var digests bool
	cmd := &cobra.Command{
		Use:   use + " [--digests] [--format json|table]",
		Short: "List images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.openImages()
			if err != nil {
				return err
			}
			defer store.Close()
			imgs, err := store.Images()
			if err != nil {
				return err
			}
			switch format {
			case "json":
				out := make([]imageJSON, 0, len(imgs))
				for _, i := range imgs {
					out = append(out, imageJSON{ID: i.ID, Names: i.Names, Digest: string(i.Digest), RepoDigests: i.RepoDigests, Created: i.Created, Size: i.Size})
				}
				return printJSON(out)
			case "", "table":
			default:
				return fmt.Errorf("--format %q: use json or table", format)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
			if digests {
				fmt.Fprintln(w, "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE")
			} else {
				fmt.Fprintln(w, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
			}
			for _, i := range imgs {
				for _, row := range imageRows(i) {
					if digests {
						d := string(i.Digest)
						if d == "" {
							d = "<none>"
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t", row[0], row[1], d)
					} else {
						fmt.Fprintf(w, "%s\t%s\t", row[0], row[1])
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", imagestore.ShortID(i.ID), ago(i.Created), units.HumanSizeWithPrecision(float64(i.Size), 3))
				}
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&digests, "digests", false, "show each image's manifest digest")
	cmd.Flags().StringVar(&format, "format", "", "json or table")
	return cmd
}

// imageRows are the REPOSITORY and TAG of each row images shows for an
// image: one per tagged name; a repository it has only by digest shows
// tag <none>, an image without names <none> <none>.
func imageRows(i imagestore.Image) [][2]string {
	var rows [][2]string
	seen := map[string]bool{}
	for _, n := range i.RepoTags {
		k := strings.LastIndex(n, ":")
		rows = append(rows, [2]string{n[:k], n[k+1:]})
		seen[n[:k]] = true
	}
	for _, n := range i.Names {
		if repo, _, ok := strings.Cut(n, "@"); ok && !seen[repo] {
			rows = append(rows, [2]string{repo, "<none>"})
			seen[repo] = true
		}
	}
	if len(rows) == 0 {
		rows = append(rows, [2]string{"<none>", "<none>"})
	}
	return rows
}

func (a *app) imageInspectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect IMAGE...",
		Short: "Show images' configuration as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.openImages()
			if err != nil {
				return err
			}
			defer store.Close()
			out := make([]imagestore.Image, 0, len(args))
			for _, ref := range args {
				img, err := store.Inspect(ref)
				if err != nil {
					return err
				}
				out = append(out, img)
			}
			return printJSON(out)
		},
	}
}

func (a *app) rmiCommand(use string) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   use + " [-f] IMAGE...",
		Short: "Remove images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			var errs []error
			code := 0
			for _, ref := range args {
				untagged, err := sv.RemoveImage(cmd.Context(), ref, force)
				if err != nil {
					code = removeCode(code, err, imagestore.ErrNoSuchImage, imagestore.ErrImageInUse)
					errs = append(errs, err)
					continue
				}
				if untagged {
					fmt.Println("Untagged: " + ref)
				} else {
					fmt.Println("Deleted: " + ref)
				}
			}
			if len(errs) == 0 {
				return nil
			}
			return &codedError{code: code, err: errors.Join(errs...)}
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "also remove the containers that use the image")
	return cmd
}

func (a *app) exportCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export NAME -o FILE",
		Short: "Write a container's file system as a tar archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				if _, err := unix.IoctlGetTermios(int(os.Stdout.Fd()), unix.TCGETS); err == nil {
					return errors.New("refusing to write a tar to a terminal: give -o FILE or redirect stdout")
				}
			}
			sv, err := a.supervisorFor(args)
			if err != nil {
				return err
			}
			if output == "" {
				return sv.Export(args[0], os.Stdout)
			}
			// Written beside the target and renamed: a failed export
			// leaves no half file under the name.
			f, err := renameio.NewPendingFile(output, renameio.WithPermissions(0o644))
			if err != nil {
				return fmt.Errorf("export %s: %w", args[0], err)
			}
			defer f.Cleanup()
			if err := sv.Export(args[0], f); err != nil {
				return err
			}
			return f.CloseAtomicallyReplace()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write (default stdout)")
	return cmd
}

func (a *app) mountCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "mount NAME",
		Short: "Mount a container's file system and print where",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisorFor(args)
			if err != nil {
				return err
			}
			dir, err := sv.MountContainer(args[0])
			if err != nil {
				return err
			}
			fmt.Println(dir)
			return nil
		},
	}
}

func (a *app) umountCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "umount NAME",
		Aliases: []string{"unmount"},
		Short:   "Take back a mount made by ctr-unit mount",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisorFor(args)
			if err != nil {
				return err
			}
			if err := sv.UnmountContainer(args[0]); err != nil {
				return err
			}
			fmt.Println(args[0])
			return nil
		},
	}
}

func (a *app) volumeCreateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create a named volume",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, vols, err := a.volumes()
			if err != nil {
				return err
			}
			v, err := vols.Create(args[0])
			if err != nil {
				return err
			}
			fmt.Println(v.Name)
			return nil
		},
	}
}

func (a *app) volumeLsCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "ls [--format json|table]",
		Aliases: []string{"list"},
		Short:   "List named volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, vols, err := a.volumes()
			if err != nil {
				return err
			}
			vs, err := vols.List()
			if err != nil {
				return err
			}
			if format == "json" {
				if vs == nil {
					vs = []volume.Volume{}
				}
				return printJSON(vs)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(w, "VOLUME NAME\tMOUNTPOINT")
			for _, v := range vs {
				fmt.Fprintf(w, "%s\t%s\n", v.Name, v.Mountpoint)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "json or table")
	return cmd
}

func (a *app) volumeRmCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [-f] NAME...",
		Short: "Remove named volumes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			code := 0
			err = eachName(args, func(n string) error {
				err := sv.RemoveVolume(cmd.Context(), n, force)
				if err != nil {
					code = removeCode(code, err, volume.ErrNoSuchVolume, supervisor.ErrVolumeInUse)
				}
				return err
			})
			if err != nil {
				return &codedError{code: code, err: err}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "also remove the containers that use the volume")
	return cmd
}

// volumeJSON is what volume inspect shows.
type volumeJSON struct {
	volume.Volume
	UsedBy []string `json:"UsedBy"`
}

func (a *app) volumeInspectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME...",
		Short: "Show named volumes as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, vols, err := a.volumes()
			if err != nil {
				return err
			}
			out := make([]volumeJSON, 0, len(args))
			for _, n := range args {
				v, err := vols.Get(n)
				if err != nil {
					return err
				}
				users, err := sv.VolumeUsers(n)
				if err != nil {
					return err
				}
				if users == nil {
					users = []string{}
				}
				out = append(out, volumeJSON{Volume: v, UsedBy: users})
			}
			return printJSON(out)
		},
	}
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// addSizes fills inspect --size's fields (an image container's only).
func addSizes(sv *supervisor.Supervisor, item *inspectJSON) error {
	sizes, err := sv.Sizes(item.Name)
	if err != nil || sizes == nil {
		return err
	}
	item.SizeRootFs, item.SizeRw = &sizes.RootFs, &sizes.Rw
	return nil
}

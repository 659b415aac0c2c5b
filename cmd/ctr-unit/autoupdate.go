package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/pullpolicy"
	"github.com/ctr-unit/ctr-unit/supervisor"
)

// autoUpdated is one line of auto-update's report, with podman's fields.
type autoUpdated struct {
	Unit      string `json:"Unit"`
	Container string `json:"ContainerName"`
	Image     string `json:"ContainerImage"`
	Policy    string `json:"Policy"`
	// Updated is podman's: true, false, rolled back or failed; with
	// --dry-run pending or false.
	Updated string `json:"Updated"`
	Error   string `json:"Error,omitempty"`
}

func (a *app) autoUpdateCommand() *cobra.Command {
	var rollback, dryRun bool
	var format string
	cmd := &cobra.Command{
		Use:   "auto-update [--dry-run] [--rollback=false] [--format json]",
		Short: "Pull newer images of running containers labelled io.containers.autoupdate=registry, and restart them",
		Long: "For each running container defined in a file with AutoUpdate=registry (the label\n" +
			"io.containers.autoupdate=registry), pull its image's name again (policy newer) and, when the\n" +
			"registry had a new image, restart the container's unit, which makes the container from it.\n" +
			"If the restart fails, or the container does not then run (or become healthy, with\n" +
			"Notify=healthy), the name goes back to the previous image and the unit restarts again.\n" +
			"With --dry-run, only ask each registry whether there is a new image (UPDATED pending).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			report, err := a.autoUpdate(cmd.Context(), sv, rollback, dryRun)
			if format == "json" {
				out, jerr := json.MarshalIndent(report, "", "  ")
				if jerr != nil {
					return jerr
				}
				fmt.Println(string(out))
			} else {
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
				fmt.Fprintln(w, "UNIT\tCONTAINER\tIMAGE\tPOLICY\tUPDATED")
				for _, r := range report {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Unit, r.Container, r.Image, r.Policy, r.Updated)
				}
				w.Flush()
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&rollback, "rollback", true, "go back to the previous image when the updated container fails")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only check for new images: pull nothing, restart nothing")
	cmd.Flags().StringVar(&format, "format", "", "json for JSON")
	return cmd
}

// autoUpdate updates every running container that asks for it; the
// error joins the failures (each also in its report line).
func (a *app) autoUpdate(ctx context.Context, sv *supervisor.Supervisor, rollback, dryRun bool) ([]autoUpdated, error) {
	infos, err := sv.List(ctx, false)
	if err != nil {
		return nil, err
	}
	var report []autoUpdated
	var errs []error
	for _, info := range infos {
		cfg := info.Config
		policy, ok := cfg.Labels[container.LabelAutoUpdate]
		if !ok {
			continue
		}
		r := autoUpdated{Unit: cfg.Unit, Container: cfg.Name, Image: cfg.ImageName, Policy: policy}
		if r.Image == "" {
			r.Image = cfg.Image
		}
		if err := a.updateOne(ctx, sv, cfg, r.Image, policy, rollback, dryRun, &r); err != nil {
			r.Error = err.Error()
			errs = append(errs, err)
		}
		report = append(report, r)
	}
	return report, errors.Join(errs...)
}

// updateOne updates one container, saying how in r.Updated.
func (a *app) updateOne(ctx context.Context, sv *supervisor.Supervisor, cfg *container.Config, image, policy string, rollback, dryRun bool, r *autoUpdated) error {
	r.Updated = "failed"
	switch {
	case policy != "registry":
		return fmt.Errorf("container %s: auto-update policy %q: only registry is supported", cfg.Name, policy)
	case cfg.Source == "" || cfg.Image == "":
		// Its unit makes the container from the image's name as it
		// starts only when a file defines it.
		return fmt.Errorf("container %s: auto-update needs a container defined in a file (NAME.container with Image=)", cfg.Name)
	}
	if dryRun {
		pending, err := pullPending(ctx, a.globals, a.storageDriver, image, cfg.AuthFile)
		if err != nil {
			return fmt.Errorf("container %s: check %s: %w", cfg.Name, image, err)
		}
		r.Updated = "false"
		if pending {
			r.Updated = "pending"
		}
		return nil
	}
	id, _, err := runPull(ctx, a.globals, a.storageDriver, image, pullpolicy.Newer, cfg.AuthFile)
	if err != nil {
		return fmt.Errorf("container %s: pull %s: %w", cfg.Name, image, err)
	}
	if id == cfg.ImageID {
		r.Updated = "false"
		return nil
	}
	startErr := restartRunning(ctx, sv, cfg.Name)
	if startErr == nil {
		r.Updated = "true"
		return nil
	}
	if !rollback {
		return startErr
	}
	// Back to the image it ran: the name moves back, and the unit makes
	// the container from it again.
	store, err := a.openImages()
	if err != nil {
		return errors.Join(startErr, err)
	}
	_, err = store.Tag(cfg.ImageID, image)
	store.Close()
	if err != nil {
		return errors.Join(startErr, fmt.Errorf("container %s: roll back to image %s: %w", cfg.Name, cfg.ImageID, err))
	}
	if err := restartRunning(ctx, sv, cfg.Name); err != nil {
		return errors.Join(startErr, fmt.Errorf("container %s: after rolling back to image %s: %w", cfg.Name, cfg.ImageID, err))
	}
	r.Updated = "rolled back"
	return nil
}

// restartRunning restarts a container's unit and checks that it runs
// (systemd's restart job ends once the unit is ready: healthy, for
// Notify=healthy).
func restartRunning(ctx context.Context, sv *supervisor.Supervisor, name string) error {
	if err := sv.Restart(ctx, name, nil); err != nil {
		return err
	}
	info, err := sv.Inspect(ctx, name)
	if err != nil {
		return err
	}
	if info.Status != supervisor.StatusRunning {
		return fmt.Errorf("container %s is %s after its restart", name, info.Status)
	}
	return nil
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/supervisor"
)

func (a *app) pauseCommands() []*cobra.Command {
	return []*cobra.Command{
		a.perName("pause", "Freeze every process of containers", func(ctx context.Context, sv *supervisor.Supervisor, n string) error {
			return sv.Pause(ctx, n)
		}),
		a.perName("unpause", "Thaw paused containers", func(ctx context.Context, sv *supervisor.Supervisor, n string) error {
			return sv.Unpause(ctx, n)
		}),
	}
}

// statsJSON is one line of stats --format json.
type statsJSON struct {
	Name        string  `json:"Name"`
	CPUSeconds  float64 `json:"CPUSeconds"`
	CPUPercent  float64 `json:"CPUPercent"`
	MemoryBytes uint64  `json:"MemUsage"`
	MemoryLimit uint64  `json:"MemLimit,omitempty"`
	Pids        uint64  `json:"PIDs"`
}

func (a *app) statsCommand() *cobra.Command {
	var noStream bool
	var format string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "stats [--no-stream] [--format json] [NAME...]",
		Short: "Show CPU, memory and process counts of running containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			// Without names, every running container.
			var scope []string
			if len(args) > 0 {
				scope = args
			}
			sv, err := a.supervisorFor(scope)
			if err != nil {
				return err
			}
			prev := map[string]uint64{}
			var last time.Time
			for {
				stats, err := sv.Stats(cmd.Context(), args)
				if err != nil {
					return err
				}
				now := time.Now()
				rows := make([]statsJSON, 0, len(stats))
				for _, st := range stats {
					r := statsJSON{Name: st.Name, CPUSeconds: float64(st.CPUNanos) / 1e9,
						MemoryBytes: st.MemoryBytes, MemoryLimit: st.MemoryLimit, Pids: st.Pids}
					// CPU % needs two samples, as in podman.
					if p, ok := prev[st.Name]; ok && st.CPUNanos >= p {
						r.CPUPercent = 100 * float64(st.CPUNanos-p) / float64(now.Sub(last).Nanoseconds())
					}
					prev[st.Name] = st.CPUNanos
					rows = append(rows, r)
				}
				last = now
				if err := printStats(format, rows); err != nil {
					return err
				}
				if noStream {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "print one sample and exit")
	cmd.Flags().StringVar(&format, "format", "", "json or table")
	cmd.Flags().DurationVarP(&interval, "interval", "i", 5*time.Second, "time between samples")
	return cmd
}

// printStats writes one sample to stdout, in one write: a table written
// cell by cell costs a write per cell.
func printStats(format string, rows []statsJSON) error {
	out := bufio.NewWriter(os.Stdout)
	return errors.Join(writeStats(out, format, rows), out.Flush())
}

func writeStats(out io.Writer, format string, rows []statsJSON) error {
	if format == "json" {
		return json.NewEncoder(out).Encode(rows)
	}
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tCPU TIME\tCPU %\tMEM USAGE / LIMIT\tPIDS")
	for _, r := range rows {
		limit := "-"
		if r.MemoryLimit > 0 {
			limit = units.BytesSize(float64(r.MemoryLimit))
		}
		fmt.Fprintf(w, "%s\t%.2fs\t%.2f%%\t%s / %s\t%d\n", r.Name, r.CPUSeconds, r.CPUPercent, units.BytesSize(float64(r.MemoryBytes)), limit, r.Pids)
	}
	return w.Flush()
}

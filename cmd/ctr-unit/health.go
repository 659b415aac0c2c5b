package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/supervisor"
)

func (a *app) healthcheckCommand() *cobra.Command {
	cmd := commandGroup("healthcheck", "Run containers' healthchecks")
	var scheduled bool
	run := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a container's healthcheck once and record the result",
		Long: "Run a container's healthcheck once inside the container and record the result.\n" +
			"As podman's: exits 0 if the check passed; prints \"unhealthy\" and exits 1 if it\n" +
			"failed (whether or not the container is unhealthy yet), and prints \"stopped\" and\n" +
			"exits 1 if the container stopped during the check, which is then not recorded.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			report, err := sv.Healthcheck(cmd.Context(), args[0], supervisor.CheckOptions{Scheduled: scheduled})
			if err != nil {
				return err
			}
			if scheduled {
				// The timer's check unit fails while the container is
				// unhealthy.
				if report.Status == healthcheck.Unhealthy {
					return exitCode(1)
				}
				return nil
			}
			switch {
			case report.Stopped:
				fmt.Println("stopped")
				return exitCode(1)
			case !report.Passed:
				fmt.Println(healthcheck.Unhealthy)
				return exitCode(1)
			}
			return nil
		},
	}
	// The timer's check unit runs with --scheduled: a container that is
	// not running is not an error then, and checks not due are skipped.
	run.Flags().BoolVar(&scheduled, "scheduled", false, "run as the healthcheck timer does")
	_ = run.Flags().MarkHidden("scheduled")
	// No refresh (see supervisor.Refresh): a check reads only its own
	// container's records, as the running container was started with;
	// rereading every definition file every second per container is
	// what the timer's hot path must not do.
	run.PersistentPreRun = func(*cobra.Command, []string) {}
	cmd.AddCommand(run)
	return cmd
}

// healthJSON is State.Health as docker and podman show it.
type healthJSON struct {
	Status        string             `json:"Status"`
	FailingStreak int                `json:"FailingStreak"`
	Log           []healthResultJSON `json:"Log"`
}

type healthResultJSON struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

func toHealthJSON(st *healthcheck.State) *healthJSON {
	if st == nil {
		return nil
	}
	h := &healthJSON{Status: st.Status, FailingStreak: st.FailingStreak, Log: []healthResultJSON{}}
	for _, r := range st.Log {
		h.Log = append(h.Log, healthResultJSON(r))
	}
	return h
}

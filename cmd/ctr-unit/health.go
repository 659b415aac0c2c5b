package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/supervisor"
)

// healthFlags binds podman's healthcheck flags for run and create.
func healthFlags(cmd *cobra.Command, o *healthcheck.Options) {
	f := cmd.Flags()
	f.StringVar(&o.Cmd, "health-cmd", "", `healthcheck command run inside the container: a JSON array (exec form) or a string run with /bin/sh -c; "none" disables`)
	f.StringVar(&o.Interval, "health-interval", "", `time between checks, e.g. 30s, 1m30s, 500ms ("disable": none scheduled) (default 30s)`)
	f.StringVar(&o.Timeout, "health-timeout", "", "time a check may take before it counts as failed (default 30s)")
	f.IntVar(&o.Retries, "health-retries", 0, "failures in a row that make the container unhealthy (default 3)")
	f.StringVar(&o.StartPeriod, "health-start-period", "", "time after start during which failures do not count until the first success (default 0s)")
	f.StringVar(&o.OnFailure, "health-on-failure", "", "what to do when unhealthy: none, kill, restart or stop (default none)")
	f.BoolVar(&o.NoHealthcheck, "no-healthcheck", false, "no healthcheck")
	f.StringVar(&o.StartupCmd, "health-startup-cmd", "", "startup check that must pass before the regular checks begin")
	f.StringVar(&o.StartupInterval, "health-startup-interval", "", "time between startup checks (default 30s)")
	f.StringVar(&o.StartupTimeout, "health-startup-timeout", "", "time a startup check may take (default 30s)")
	f.IntVar(&o.StartupRetries, "health-startup-retries", 0, "startup failures in a row that restart the container (default 0: never)")
	f.IntVar(&o.StartupSuccess, "health-startup-success", 0, "startup passes in a row that end the startup check (default 1)")
	f.StringVar(&o.SdNotify, "sdnotify", "", "when the unit reports ready: conmon (once started, the default) or healthy (after the first passing check)")
}

func (a *app) healthcheckCommand() *cobra.Command {
	cmd := commandGroup("healthcheck", "Run containers' healthchecks")
	var scheduled bool
	run := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a container's healthcheck once and record the result",
		Long: "Run a container's healthcheck once inside the container and record the result.\n" +
			"Exits 0 if the container is healthy (or still starting), 1 if it is unhealthy.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			status, err := sv.Healthcheck(cmd.Context(), args[0], supervisor.CheckOptions{Scheduled: scheduled})
			if err != nil {
				return err
			}
			if status == healthcheck.Unhealthy {
				if !scheduled {
					fmt.Println(status)
				}
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

func (a *app) startHealthyCommand() *cobra.Command {
	return &cobra.Command{
		Use:  "start-healthy NAME",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sv, err := a.supervisor()
			if err != nil {
				return err
			}
			return sv.StartHealthy(cmd.Context(), args[0])
		},
	}
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

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/events"
	"github.com/ctr-unit/ctr-unit/units"
)

func (a *app) eventsCommand() *cobra.Command {
	var since, until, format string
	var filters []string
	var stream bool
	cmd := &cobra.Command{
		Use:   "events [--since T] [--until T] [--filter KEY=VALUE] [--format json|TEMPLATE]",
		Short: "Show what happens to containers",
		Long: "Show containers' events: create, start, died (with the exit code), stop,\n" +
			"restart, pause, unpause, health_status, remove and oom. They are read from\n" +
			"the journal, where systemd logs its units' starts, stops and restarts (so\n" +
			"systemctl stop or a crash shows too) and ctr-unit logs the rest: the unit's\n" +
			"stop step logs every death, however it came. Without --since or --until,\n" +
			"events streams new ones until interrupted; --since shows the past first.\n" +
			"T is a duration ago (10m), RFC 3339, or seconds since the epoch. Filters:\n" +
			"container=NAME, event=STATUS (or status=), image=IMAGE, type=container;\n" +
			"the same key given twice matches either value.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			match, err := eventFilter(filters)
			if err != nil {
				return err
			}
			// By message ID: ctr-unit's and systemd's unit messages, of any
			// unit (a --unit glob would only match units the journal has
			// seen before journalctl started).
			argv := append([]string{"journalctl", "--output=json", "--no-pager"}, events.JournalMatches()...)
			for _, t := range []struct{ flag, value string }{{"--since", since}, {"--until", until}} {
				if t.value == "" {
					continue
				}
				ts, err := eventTime(t.value, time.Now())
				if err != nil {
					return fmt.Errorf("%s %s: %w", t.flag, t.value, err)
				}
				argv = append(argv, fmt.Sprintf("%s=@%d.%06d", t.flag, ts.Unix(), ts.Nanosecond()/1000))
			}
			if stream && until == "" {
				argv = append(argv, "--follow")
				if since == "" {
					// New events only, by time: --lines=0 would miss those
					// that come while journalctl finds the journal's end.
					now := time.Now()
					argv = append(argv, fmt.Sprintf("--since=@%d.%06d", now.Unix(), now.Nanosecond()/1000))
				}
			}
			out, err := eventPrinter(format)
			if err != nil {
				return err
			}
			return a.readEvents(cmd.Context(), argv, match, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "show events since T (and then stream)")
	f.StringVar(&until, "until", "", "show events until T, then exit")
	f.StringArrayVarP(&filters, "filter", "f", nil, "show only events matching KEY=VALUE")
	f.StringVar(&format, "format", "", "json (one object a line) or a Go template")
	f.BoolVar(&stream, "stream", true, "keep streaming new events (without --until)")
	return cmd
}

// readEvents runs journalctl and prints the events of what it reads.
func (a *app) readEvents(ctx context.Context, argv []string, match func(events.Event) bool, out func(events.Event) error) error {
	journalctl, err := exec.LookPath("journalctl")
	if err != nil {
		return fmt.Errorf("journalctl not found: %w", err)
	}
	cmd := exec.CommandContext(ctx, journalctl, argv[1:]...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("journalctl: %w", err)
	}
	nameOf := containerOfUnit
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var entry map[string]any
		if json.Unmarshal(sc.Bytes(), &entry) != nil {
			continue
		}
		ev, ok := events.Parse(entry, nameOf)
		if !ok || !match(ev) {
			continue
		}
		if err := out(ev); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return err
		}
	}
	if err := cmd.Wait(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("journalctl: %w", err)
	}
	return nil
}

// containerOfUnit is the name of the container a unit runs ("" for
// another unit, such as a container's check service).
func containerOfUnit(u string) string {
	name := units.ContainerOf(u)
	// A check's unit (ctr-health@NAME) names no container.
	if container.ValidateName(name) != nil {
		return ""
	}
	return name
}

// eventTime reads --since/--until: a duration ago, RFC 3339, or unix
// seconds.
func eventTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("want a duration (10m), RFC 3339 time or seconds since the epoch")
}

// eventFilter reads --filter KEY=VALUE: values of one key are ORed, keys
// ANDed.
func eventFilter(filters []string) (func(events.Event) bool, error) {
	want := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("--filter %q: want KEY=VALUE", f)
		}
		switch k {
		case "container", "event", "status", "image", "type":
		default:
			return nil, fmt.Errorf("--filter %q: unknown key %s (want container, event, image or type)", f, k)
		}
		if k == "status" {
			k = "event"
		}
		want[k] = append(want[k], v)
	}
	return func(ev events.Event) bool {
		for k, vs := range want {
			var got string
			switch k {
			case "container":
				got = ev.Name
			case "event":
				got = ev.Status
			case "image":
				got = ev.Image
			case "type":
				got = ev.Type
			}
			ok := false
			for _, v := range vs {
				ok = ok || v == got
			}
			if !ok {
				return false
			}
		}
		return true
	}, nil
}

// eventPrinter prints events as podman does: a line of text, JSON or a
// template.
func eventPrinter(format string) (func(events.Event) error, error) {
	switch format {
	case "":
		return func(ev events.Event) error {
			attrs := []string{"name=" + ev.Name}
			if ev.Image != "" {
				attrs = append(attrs, "image="+ev.Image)
			}
			if ev.Unit != "" {
				attrs = append(attrs, "unit="+ev.Unit)
			}
			if ev.ContainerExitCode != nil {
				attrs = append(attrs, fmt.Sprintf("containerExitCode=%d", *ev.ContainerExitCode))
			}
			if ev.Health != "" {
				attrs = append(attrs, "health_status="+ev.Health)
			}
			_, err := fmt.Printf("%s %s %s %s (%s)\n", ev.Time.Format("2006-01-02 15:04:05.000000 -0700 MST"), ev.Type, ev.Status, ev.Name, strings.Join(attrs, ", "))
			return err
		}, nil
	case "json":
		enc := json.NewEncoder(os.Stdout)
		return func(ev events.Event) error { return enc.Encode(ev) }, nil
	}
	tmpl, err := template.New("format").Parse(strings.TrimSuffix(format, "\n") + "\n")
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	return func(ev events.Event) error { return tmpl.Execute(os.Stdout, ev) }, nil
}

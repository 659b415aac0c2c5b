package main

import (
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/events"
)

func TestContainerPathIsPodmans(t *testing.T) {
	for arg, want := range map[string]string{
		"web:/etc/passwd": "web|/etc/passwd",
		"web:etc":         "web|etc",
		"./web:x":         "",
		"/tmp/a:b":        "",
		"plain":           "",
		":/x":             "",
	} {
		n, p, ok := containerPath(arg)
		got := ""
		if ok {
			got = n + "|" + p
		}
		if got != want {
			t.Errorf("%q: %q, want %q", arg, got, want)
		}
	}
}

func TestEventTimeAndFilter(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"10m":                  now.Add(-10 * time.Minute),
		"2026-12-05T11:00:00Z": now.Add(-time.Hour),
		"1796428800":           time.Unix(1796428800, 0),
	} {
		if got, err := eventTime(in, now); err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	if _, err := eventTime("yesterday-ish", now); err == nil {
		t.Error("a bad time was accepted")
	}
	match, err := eventFilter([]string{"container=a", "container=b", "event=died"})
	if err != nil {
		t.Fatal(err)
	}
	for ev, want := range map[events.Event]bool{
		{Name: "a", Status: "died"}:  true,
		{Name: "b", Status: "died"}:  true,
		{Name: "a", Status: "start"}: false,
		{Name: "c", Status: "died"}:  false,
	} {
		if match(ev) != want {
			t.Errorf("%+v: %v, want %v", ev, !want, want)
		}
	}
	if _, err := eventFilter([]string{"label=x"}); err == nil {
		t.Error("an unknown filter key was accepted")
	}
}

func TestContainerOfUnit(t *testing.T) {
	for u, want := range map[string]string{
		`ctr-web\x2d1.service`:   "web-1",
		"ctr-web.service":        "web",
		"ctr@web.service":        "web",
		"ctr-my-web.service":     "my-web",
		"ctr@my-web.service":     "my-web",
		"ctr-web-health.service": "web-health",
		"ctr-health@web.service": "",
		"ctr-gone.service":       "gone",
		"sshd.service":           "",
		"ctr-web-health.timer":   "",
	} {
		if got := containerOfUnit(u); got != want {
			t.Errorf("%s: %q, want %q", u, got, want)
		}
	}
}

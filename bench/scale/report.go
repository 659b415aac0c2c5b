package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ctr-unit/ctr-unit/bench/measure"
)

type report struct {
	// Baseline: a ctr-unit built from this revision took turns with this
	// one (commands, generator, probes).
	Baseline string
	Started  time.Time
	Took     time.Duration
	Ns       []int
	Kinds    []string
	Machine  machineFigures
	Boots    map[string]*bootFigures
	Health   []*healthFigures
	// NotRun: kinds and Ns not measured, and why (skipped, or failed).
	NotRun []string
}

// value is one cell: a duration, or a size in KiB; ok false for none.
type value struct {
	v  float64
	ok bool
}

func dur(d time.Duration) value { return value{float64(d), d > 0} }

// table is a markdown table with a column per kind and the ratios of
// ctr-unit to each other kind.
type table struct {
	b      *strings.Builder
	kinds  []string
	format func(float64) string
}

func msFormat(v float64) string {
	ms := v / float64(time.Millisecond)
	switch {
	case ms >= 10000:
		return fmt.Sprintf("%.1f s", ms/1000)
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f ms", ms)
}

func kibFormat(v float64) string {
	if v >= 10240 {
		return fmt.Sprintf("%.1f MiB", v/1024)
	}
	return fmt.Sprintf("%.0f KiB", v)
}

func (r *report) table(b *strings.Builder, first string, format func(float64) string) *table {
	t := &table{b: b, format: format}
	for _, k := range r.Kinds {
		if k != kindBase {
			t.kinds = append(t.kinds, k)
		}
	}
	head := []string{first}
	head = append(head, t.kinds...)
	if contains(r.Kinds, kindBase) {
		head = append(head, "ctr-unit before")
	}
	for _, k := range t.kinds[1:] {
		head = append(head, "ctr-unit / "+k)
	}
	if contains(r.Kinds, kindBase) {
		head = append(head, "after / before")
	}
	t.kinds = append(t.kinds, kindBase)
	if !contains(r.Kinds, kindBase) {
		t.kinds = t.kinds[:len(t.kinds)-1]
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
	return t
}

// row writes one row: vals by kind.
func (t *table) row(label string, vals map[string]value) {
	cells := []string{label}
	for _, k := range t.kinds {
		cells = append(cells, t.cell(vals[k]))
	}
	ctr := vals[kindCtr]
	for _, k := range t.kinds {
		if k == kindCtr || k == kindBase {
			continue
		}
		cells = append(cells, ratio(ctr, vals[k]))
	}
	if len(t.kinds) > 0 && t.kinds[len(t.kinds)-1] == kindBase {
		cells = append(cells, ratio(ctr, vals[kindBase]))
	}
	fmt.Fprintf(t.b, "| %s |\n", strings.Join(cells, " | "))
}

func (t *table) cell(v value) string {
	if !v.ok {
		return "—"
	}
	return t.format(v.v)
}

func ratio(a, b value) string {
	if !a.ok || !b.ok || b.v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2fx", a.v/b.v)
}

func (r *report) each(n int, f func(*bootFigures) value) map[string]value {
	out := map[string]value{}
	for _, k := range r.Kinds {
		if bf := r.Boots[key(k, n)]; bf != nil {
			out[k] = f(bf)
		}
	}
	return out
}

func lastBoot(f *bootFigures) bootTimes { return f.Boots[len(f.Boots)-1] }

func (r *report) markdown() string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "## bench-scale, %s\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine %s, %s; cgroup v2 box; the run took %v. Process start-up here (median wall, CPU): %s.\n\n",
		host, r.Machine.CPUModel, r.Took.Round(time.Second), strings.Join(r.Machine.Startup, "; "))

	b.WriteString("### Boot to all running (systemd's timestamps: its start to the last container's unit active)\n\n")
	t := r.table(&b, "N", msFormat)
	for _, n := range r.Ns {
		t.row(fmt.Sprintf("%d, first boot", n), r.each(n, func(f *bootFigures) value { return dur(f.Boots[0].ToRunning) }))
		if f := r.Boots[key(kindCtr, n)]; f != nil && len(f.Boots) > 1 {
			t.row(fmt.Sprintf("%d, reboot", n), r.each(n, func(f *bootFigures) value { return dur(lastBoot(f).ToRunning) }))
			t.row(fmt.Sprintf("%d, reboot: units loaded to all running", n), r.each(n, func(f *bootFigures) value { return dur(lastBoot(f).LoadedToRunning) }))
		}
		t.row(fmt.Sprintf("%d, CPU of the whole boot", n), r.each(n, func(f *bootFigures) value { return dur(lastBoot(f).CPU) }))
		t.row(fmt.Sprintf("%d, CPU of systemd (PID 1) in it", n), r.each(n, func(f *bootFigures) value { return dur(lastBoot(f).PID1CPU) }))
	}

	if f := r.Boots[key(kindFloor, r.Ns[0])]; f != nil && len(f.Boots) == 1 {
		b.WriteString("\nThe floor is booted once: its units are the same files at every boot and it keeps no records, so its one boot stands for both.\n")
	}

	// A unit systemd had to restart counts in its kind's time; say so.
	for _, n := range r.Ns {
		for _, k := range r.Kinds {
			if f := r.Boots[key(k, n)]; f != nil {
				for i, bt := range f.Boots {
					if bt.Restarts > 0 {
						fmt.Fprintf(&b, "\n%s, N=%d, boot %d: %d container units failed to start and were restarted by systemd; the time above includes their restarts.\n", k, n, i+1, bt.Restarts)
					}
				}
			}
		}
	}

	b.WriteString("\n### Generators and daemon-reload with N containers defined\n\n")
	t = r.table(&b, "N", msFormat)
	for _, n := range r.Ns {
		t.row(fmt.Sprintf("%d, generators at boot (all of systemd's)", n), r.each(n, func(f *bootFigures) value { return dur(lastBoot(f).Generators) }))
		t.row(fmt.Sprintf("%d, systemctl daemon-reload", n), r.each(n, func(f *bootFigures) value { return dur(f.Reload) }))
		t.row(fmt.Sprintf("%d, ctr-unit's generator alone", n), r.each(n, func(f *bootFigures) value {
			if f.Generator == 0 && f.GeneratorBase > 0 {
				return value{}
			}
			return dur(f.Generator)
		}))
	}

	b.WriteString("\n### Commands with N containers running (medians)\n\n")
	t = r.table(&b, "command, N", msFormat)
	var cmds []string
	if f := r.Boots[key(kindCtr, r.Ns[0])]; f != nil {
		for name := range f.Commands {
			cmds = append(cmds, name)
		}
	}
	order := map[string]int{"ps -a": 0, "ps --format json": 1, "inspect NAME": 2, "stats --no-stream": 3, "run -d": 4, "stop": 5}
	sort.Slice(cmds, func(i, j int) bool { return order[cmds[i]] < order[cmds[j]] })
	for _, name := range cmds {
		for _, n := range r.Ns {
			vals := r.each(n, func(f *bootFigures) value { return dur(f.Commands[name].Wall) })
			if f := r.Boots[key(kindCtr, n)]; f != nil && f.Commands[name].Base > 0 {
				vals[kindBase] = dur(f.Commands[name].Base)
			}
			t.row(fmt.Sprintf("%s, %d", name, n), vals)
		}
	}

	b.WriteString("\n### Memory\n\n")
	t = r.table(&b, "", kibFormat)
	lo, hi := r.Ns[0], r.Ns[len(r.Ns)-1]
	for _, n := range r.Ns {
		t.row(fmt.Sprintf("%d: all processes of the containers, PSS per container", n), r.each(n, func(f *bootFigures) value {
			return value{float64(f.Mem.PSSKiB) / float64(n), true}
		}))
	}
	if hi > lo {
		growth := map[string]value{}
		for _, k := range r.Kinds {
			a, z := r.Boots[key(k, lo)], r.Boots[key(k, hi)]
			if a != nil && z != nil {
				growth[k] = value{float64(z.Mem.PID1RSSKiB-a.Mem.PID1RSSKiB) / float64(hi-lo), true}
			}
		}
		t.row(fmt.Sprintf("systemd's RSS growth per container (N %d to %d)", lo, hi), growth)
		total := map[string]value{}
		for k, g := range growth {
			if z := r.Boots[key(k, hi)]; z != nil {
				total[k] = value{g.v + float64(z.Mem.PSSKiB)/float64(hi), true}
			}
		}
		t.row(fmt.Sprintf("total per container at N=%d (its processes + systemd's growth)", hi), total)
	}
	b.WriteString("\nProcesses other than the containers' own, at the largest N: ")
	for _, k := range r.Kinds {
		if f := r.Boots[key(k, hi)]; f != nil {
			fmt.Fprintf(&b, "%s %v; ", k, f.Mem.Others)
		}
	}
	b.WriteString("\n")

	b.WriteString("\n### Stop all: systemctl stop of the target the N containers are part of\n\n")
	t = r.table(&b, "N", msFormat)
	for _, n := range r.Ns {
		t.row(fmt.Sprintf("%d, until the last unit is inactive", n), r.each(n, func(f *bootFigures) value { return dur(f.Stop.All) }))
		t.row(fmt.Sprintf("%d, CPU the box used meanwhile", n), r.each(n, func(f *bootFigures) value { return dur(f.Stop.CPU) }))
	}

	if len(r.Health) > 0 {
		b.WriteString("\n### Healthchecks: a check every 30 s\n\n")
		for _, h := range r.Health {
			fmt.Fprintf(&b, "- %s, %d containers watched %v: %d checks; box CPU %v (idle %v, systemd %v); **CPU per hour of checks: %.1f s** (%.1f ms a check)\n",
				h.Kind, h.Containers, h.Window, h.Checks, h.BoxCPU.Round(time.Millisecond), h.IdleCPU.Round(time.Millisecond), h.PID1CPU.Round(time.Millisecond),
				h.PerHourCPU.Seconds(), float64(h.PerHourCPU)/float64(time.Millisecond)/(float64(h.Containers)*float64(time.Hour/healthInterval)))
			var ways []string
			for w := range h.Probe {
				ways = append(ways, w)
			}
			sort.Strings(ways)
			floor := h.Probe["runc exec"]
			for _, w := range ways {
				p := h.Probe[w]
				fmt.Fprintf(&b, "  - one probe, %s: CPU %s (%.2fx runc exec), wall %s\n", w, measure.MS(p.CPU), float64(p.CPU)/float64(max(floor.CPU, 1)), measure.MS(p.Wall))
			}
		}
	}
	if len(r.NotRun) > 0 {
		b.WriteString("\n### Not measured\n\n")
		for _, s := range r.NotRun {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	return b.String()
}

package imagestore

import (
	"fmt"
	"io"
	"time"
)

// progress rewrites one line on a terminal with how much of a load is
// done. A nil *progress (no writer) does nothing.
type progress struct {
	w     io.Writer
	label string
	total int64
	done  int64
	last  time.Time
	start time.Time
}

func newProgress(w io.Writer, total int64, label string) *progress {
	if w == nil {
		return nil
	}
	return &progress{w: w, label: label, total: total, start: time.Now()}
}

func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.done += n
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.draw()
	}
}

func (p *progress) draw() {
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(min(p.done, p.total)) / float64(p.total)
	}
	fmt.Fprintf(p.w, "\rLoading %s: %s / %s (%3.0f%%)", p.label, mib(p.done), mib(p.total), pct)
}

func (p *progress) finish() {
	if p == nil {
		return
	}
	p.draw()
	fmt.Fprintln(p.w)
}

// reader counts what passes through r.
func (p *progress) reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return &countingReader{r: r, p: p}
}

type countingReader struct {
	r io.Reader
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(int64(n))
	return n, err
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

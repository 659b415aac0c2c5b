package cgroupmgr

import (
	"context"
	"time"
)

const (
	pollFirst = 100 * time.Microsecond
	pollMax   = 10 * time.Millisecond
)

// pollUntil calls done until it reports true, fails, or ctx ends. The
// first checks come fast because freezing an idle cgroup or reaping a
// killed process takes well under a millisecond; the back-off keeps a
// long wait (a task stuck in uninterruptible sleep) cheap.
func pollUntil(ctx context.Context, done func() (bool, error)) error {
	wait := pollFirst
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, pollMax)
	}
}

//go:build containers_image_openpgp

package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/ctr-unit/ctr-unit/imagestore"
)

// Retryable says whether a failed pull may succeed if tried again, as
// podman's retries judge it: the network (a connection refused or reset,
// a name not resolved yet, a timeout) while it comes up at boot or a
// registry restarts; not what the registry or the configuration answered
// (no such image, credentials, policy, names), which would be answered
// again.
func Retryable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH)
}

// PullRetrying is Pull tried up to 1+retries times while it fails in a
// way that may pass (a network down at boot, a registry restarting), as
// podman's --retry: after delay, or 1 s, 2 s, 4 s, ... when delay is 0.
// Each failed try left the store as it was. log hears of each retry.
func PullRetrying(ctx context.Context, store *imagestore.Store, ref string, policy Policy, o Options, retries int, delay time.Duration, log io.Writer) (Pulled, error) {
	for try := 0; ; try++ {
		pulled, err := Pull(ctx, store, ref, policy, o)
		if err == nil || try >= retries || !Retryable(err) {
			return pulled, err
		}
		wait := delay
		if wait <= 0 {
			wait = time.Second << try
		}
		fmt.Fprintf(log, "pull %s failed (%v); trying again in %s (%d of %d)\n", ref, err, wait, try+1, retries)
		select {
		case <-ctx.Done():
			return Pulled{}, fmt.Errorf("pull %s: %w (after: %w)", ref, ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}

//go:build containers_image_openpgp

package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ctr-unit/ctr-unit/imagestore"
)

// Retryable says whether a failed pull may succeed if tried again: not
// when the registry answered what it will answer again (no such image,
// credentials, policy, ambiguity), nor when the pull was cancelled.
func Retryable(err error) bool {
	for _, final := range []error{ErrNotFound, ErrUnauthorized, ErrLoginRequired, ErrAmbiguous, ErrRejected,
		imagestore.ErrNoSuchImage, imagestore.ErrBadName, imagestore.ErrBadArchive, context.Canceled} {
		if errors.Is(err, final) {
			return false
		}
	}
	return true
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

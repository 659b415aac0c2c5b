//go:build containers_image_openpgp

package transfer

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/ctr-unit/ctr-unit/imagestore"
)

func TestRetryableIsTheNetworkOnly(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for err, want := range map[error]bool{
		fmt.Errorf("pull x: pinging: %w", refused):                   true,
		fmt.Errorf("pull x: %w", &net.DNSError{Err: "no such host"}): true,
		fmt.Errorf("pull x: %w", ErrNotFound):                        false,
		fmt.Errorf("pull x: %w", ErrUnauthorized):                    false,
		fmt.Errorf("x: %w", ErrNoRegistry):                           false,
		fmt.Errorf("%w: x", imagestore.ErrNoSuchImage):               false,
		fmt.Errorf("pull x: %w (%w)", context.Canceled, refused):     false,
	} {
		if got := Retryable(err); got != want {
			t.Errorf("Retryable(%v) = %v, want %v", err, got, want)
		}
	}
}

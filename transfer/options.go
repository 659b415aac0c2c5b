//go:build containers_image_openpgp

package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/docker/distribution/registry/api/errcode"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/pkg/docker/config"
	"go.podman.io/image/v5/signature"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/transports"
	"go.podman.io/image/v5/types"

	// The transports images move by, registered by name for
	// parseTransport. Not alltransports: it also links docker-daemon's
	// client, which ctr-unit does not offer.
	_ "go.podman.io/image/v5/directory"
	_ "go.podman.io/image/v5/docker/archive"
	_ "go.podman.io/image/v5/oci/archive"
	_ "go.podman.io/image/v5/oci/layout"

	"github.com/ctr-unit/ctr-unit/imagestore"
)

var (
	// ErrUnauthorized marks credentials a registry refused.
	ErrUnauthorized = errors.New("the registry refused the credentials")
	// ErrLoginRequired marks a registry that wants credentials and got
	// none.
	ErrLoginRequired = errors.New("the registry requires a login (ctr-unit login REGISTRY, or --creds)")
	// ErrNotFound marks an image the registry does not have.
	ErrNotFound = errors.New("no such image in the registry")
	// ErrAmbiguous marks a short name several registries could serve.
	ErrAmbiguous = errors.New("ambiguous short name")
	// ErrNoRegistry: registries.conf gives a short name no registry
	// to be pulled from.
	ErrNoRegistry = errors.New("no registry to pull it from")
	// ErrRejected marks an image the signature policy refuses.
	ErrRejected = errors.New("refused by the signature policy")
)

// Options are the host's configuration and the user's choices for one
// transfer. Unset fields mean what they mean to podman: registries.conf,
// policy.json and the credentials files at their usual places, or where
// CONTAINERS_REGISTRIES_CONF, CONTAINERS_POLICY_JSON and REGISTRY_AUTH_FILE
// say.
type Options struct {
	// AuthFile is --authfile: the one credentials file to read and write
	// instead of containers-auth.json(5)'s list.
	AuthFile string
	// CertDir is --cert-dir: a directory of *.crt (CAs), *.cert and
	// *.key (client certificate) for the registry.
	CertDir string
	// TLSVerify is --tls-verify; nil lets registries.conf decide
	// (insecure = true allows plain HTTP and unverified TLS).
	TLSVerify *bool
	// Creds is --creds USER:PASSWORD.
	Creds string
	// SignaturePolicy is --signature-policy, a policy.json.
	SignaturePolicy string
	// Progress receives one progress bar per layer; it must be a
	// terminal. nil is quiet.
	Progress io.Writer
	// DryRun: a pull only finds out whether it would fetch an image
	// (Pulled.Pending) and stores nothing, as auto-update --dry-run.
	DryRun bool
}

// systemContext is o for containers/image; tmp receives big scratch files.
func (o Options) systemContext(tmp string) (*types.SystemContext, error) {
	sys := &types.SystemContext{
		DockerRegistryUserAgent: "ctr-unit",
		BigFilesTemporaryDir:    tmp,
		// The blob cache would otherwise go to /var/lib/containers;
		// ctr-unit keeps to its own store.
		BlobInfoCacheDir:    tmp,
		DockerCertPath:      o.CertDir,
		SignaturePolicyPath: o.SignaturePolicy,
		AuthFilePath:        o.AuthFile,
		// Ambiguous short names are refused in Pull, never guessed;
		// with a terminal containers/image asks the user.
		ShortNameMode: ptr(types.ShortNameModePermissive),
	}
	if sys.AuthFilePath == "" {
		// As podman: the variable stands for --authfile.
		sys.AuthFilePath = os.Getenv("REGISTRY_AUTH_FILE")
	}
	if o.TLSVerify != nil {
		sys.DockerInsecureSkipTLSVerify = types.NewOptionalBool(!*o.TLSVerify)
		sys.OCIInsecureSkipTLSVerify = !*o.TLSVerify
	}
	if o.Creds != "" {
		user, pass, ok := strings.Cut(o.Creds, ":")
		if !ok || user == "" {
			return nil, errors.New("--creds: use USERNAME:PASSWORD")
		}
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: user, Password: pass}
	}
	return sys, nil
}

// checkAuthFile refuses an --authfile that does not exist, for commands
// that only read it: a typo would otherwise pull anonymously.
func checkAuthFile(sys *types.SystemContext) error {
	if sys.AuthFilePath == "" {
		return nil
	}
	if _, err := os.Stat(sys.AuthFilePath); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// policyContext reads the signature policy (policy.json).
func policyContext(sys *types.SystemContext) (*signature.PolicyContext, error) {
	policy, err := signature.DefaultPolicy(sys)
	if err != nil {
		return nil, fmt.Errorf("signature policy: %w", err)
	}
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		return nil, fmt.Errorf("signature policy: %w", err)
	}
	return pc, nil
}

// copyImage copies one image with the host's policy and returns the
// image the destination resolved to (for the store: its ID).
func copyImage(ctx context.Context, sys *types.SystemContext, dest, src types.ImageReference, o Options, extra func(*copy.Options)) (types.ImageReference, []byte, error) {
	credentialed := hasCredentials(sys, src) || hasCredentials(sys, dest)
	pc, err := policyContext(sys)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = pc.Destroy() }()
	var resolved types.ImageReference
	opts := &copy.Options{
		SourceCtx:               sys,
		DestinationCtx:          sys,
		ReportResolvedReference: &resolved,
		ImageListSelection:      copy.CopySystemImage,
	}
	if o.Progress != nil {
		opts.ReportWriter = o.Progress
	}
	if extra != nil {
		extra(opts)
	}
	man, err := copy.Image(ctx, pc, dest, src, opts)
	if err != nil {
		return nil, nil, classify(err, credentialed)
	}
	return resolved, man, nil
}

// hasCredentials says whether a registry reference goes with
// credentials: --creds, or a login in the credentials files.
func hasCredentials(sys *types.SystemContext, ref types.ImageReference) bool {
	if ref.Transport().Name() != "docker" || ref.DockerReference() == nil {
		return false
	}
	if sys.DockerAuthConfig != nil {
		return true
	}
	auth, err := config.GetCredentialsForRef(sys, ref.DockerReference())
	return err == nil && (auth.Username != "" || auth.IdentityToken != "")
}

// classify puts a sentinel on the errors users must tell apart;
// credentialed says whether credentials were sent.
func classify(err error, credentialed bool) error {
	var unauth docker.ErrUnauthorizedForCredentials
	var rejected signature.PolicyRequirementError
	var coded errcode.ErrorCoder
	switch {
	case errors.As(err, &unauth):
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	case errors.As(err, &coded) && coded.ErrorCode() == errcode.ErrorCodeUnauthorized:
		if credentialed {
			return fmt.Errorf("%w: %w", ErrUnauthorized, err)
		}
		return fmt.Errorf("%w: %w", ErrLoginRequired, err)
	case errors.As(err, &rejected):
		return fmt.Errorf("%w: %w", ErrRejected, err)
	case isNotFound(err):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// isNotFound recognizes the registry's "manifest unknown" and "name
// unknown", which containers/image does not export.
func isNotFound(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "manifest unknown") || strings.Contains(msg, "name unknown") ||
		strings.Contains(msg, "404 (Not Found)")
}

// storeRef is a reference into ctr-unit's store: by name, or by ID when
// named is nil.
func storeRef(store *imagestore.Store, named reference.Named, id string) (types.ImageReference, error) {
	ref, err := istorage.Transport.NewStoreReference(store.Storage(), named, id)
	if err != nil {
		return nil, fmt.Errorf("image store reference: %w", err)
	}
	return ref, nil
}

// storedID is the ID of the stored image a copy resolved to.
func storedID(store *imagestore.Store, resolved types.ImageReference) (string, error) {
	if resolved == nil {
		return "", errors.New("the copy reported no image")
	}
	img, err := istorage.Transport.GetStoreImage(store.Storage(), resolved)
	if err != nil {
		return "", fmt.Errorf("find the stored image: %w", err)
	}
	return img.ID, nil
}

// parseTransport parses TRANSPORT:DETAILS (imagestore.SplitTransport). ok
// is false when s names no transport (a plain image name).
func parseTransport(s string) (ref types.ImageReference, ok bool, err error) {
	name, details, ok := imagestore.SplitTransport(s)
	if !ok {
		return nil, false, nil
	}
	t := transports.Get(name)
	if t == nil {
		return nil, true, fmt.Errorf("transport %s is not built in", name)
	}
	ref, err = t.ParseReference(details)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", s, err)
	}
	return ref, true, nil
}

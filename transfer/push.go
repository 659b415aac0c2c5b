//go:build containers_image_openpgp

package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/manifest"

	"github.com/ctr-unit/ctr-unit/imagestore"
)

// PushOptions are a push's: Options, and the manifest format.
type PushOptions struct {
	Options
	// Format is "oci", "v2s2" (docker) or "" (as the image is).
	Format string
}

// Push copies the stored image src to dest: a registry's
// [docker://]REGISTRY/NAME[:TAG] or TRANSPORT:DETAILS; "" is the name src
// was found by. It returns the digest of the manifest written.
func Push(ctx context.Context, store *imagestore.Store, src, dest string, o PushOptions) (digest.Digest, error) {
	img, matched, err := store.Resolve(src)
	if err != nil {
		return "", err
	}
	if dest == "" {
		switch {
		case matched != "" && !strings.Contains(matched, "@"):
			dest = matched
		case len(img.RepoTags) > 0:
			dest = img.RepoTags[0]
		default:
			return "", fmt.Errorf("push %s: the image has no name to push it by; give a destination", src)
		}
	}
	destRef, ok, err := parseTransport(dest)
	if err != nil {
		return "", err
	}
	if !ok {
		if destRef, err = docker.ParseReference("//" + strings.TrimPrefix(dest, "docker://")); err != nil {
			return "", fmt.Errorf("push destination %s: %w", dest, err)
		}
	}
	var mime string
	switch o.Format {
	case "":
	case "oci":
		mime = v1.MediaTypeImageManifest
	case "v2s2", "docker":
		mime = manifest.DockerV2Schema2MediaType
	default:
		return "", fmt.Errorf("push: format %q: use oci or v2s2", o.Format)
	}
	// Pushes hold the store's transfer lock too: it guards the scratch
	// directory.
	t, err := store.BeginTransfer()
	if err != nil {
		return "", err
	}
	defer t.Done()
	sys, err := o.systemContext(t.TmpDir())
	if err != nil {
		return "", err
	}
	if err := checkAuthFile(sys); err != nil {
		return "", err
	}
	srcRef, err := storeRef(store, nil, img.ID)
	if err != nil {
		return "", err
	}
	_, man, err := copyImage(ctx, sys, destRef, srcRef, o.Options, func(c *copy.Options) {
		c.ForceManifestMIMEType = mime
	})
	if err != nil {
		return "", fmt.Errorf("push %s to %s: %w", src, dest, err)
	}
	d, err := manifest.Digest(man)
	if err != nil {
		return "", errors.New("push: the written manifest has no digest")
	}
	return d, nil
}

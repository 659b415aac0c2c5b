//go:build containers_image_openpgp

package transfer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/pkg/shortnames"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
	"go.podman.io/image/v5/types"

	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/pullpolicy"
)

// Policy says when a pull goes to the registry (package pullpolicy).
type Policy = pullpolicy.Policy

// The policies, as package pullpolicy names them.
const (
	PullAlways  = pullpolicy.Always
	PullMissing = pullpolicy.Missing
	PullNewer   = pullpolicy.Newer
	PullNever   = pullpolicy.Never
)

// ParsePolicy reads a --policy value (pullpolicy.Parse).
func ParsePolicy(s string) (Policy, error) { return pullpolicy.Parse(s) }

// Pulled is the outcome of a pull.
type Pulled struct {
	// ID is the stored image's; Name the name it was pulled by.
	ID, Name string
	// Fetched is false when the policy let the stored image be.
	Fetched bool
	// Pending: a dry run (Options.DryRun) found that the pull would
	// fetch an image; nothing was stored.
	Pending bool
	// Resolution says how a short name was resolved ("" otherwise).
	Resolution string
}

// Pull brings ref into the store by policy. ref is a registry's image
// ([docker://][REGISTRY/]NAME[:TAG|@DIGEST]; a short name is resolved by
// registries.conf) or TRANSPORT:DETAILS of another transport (as a load).
// A failed pull leaves the store as it was.
func Pull(ctx context.Context, store *imagestore.Store, ref string, policy Policy, o Options) (Pulled, error) {
	if src, ok, err := parseTransport(ref); err != nil {
		return Pulled{}, err
	} else if ok && src.Transport().Name() != "docker" {
		loaded, err := loadRef(ctx, store, src, ref, o)
		if err != nil {
			return Pulled{}, err
		}
		out := Pulled{ID: loaded[0].ID, Fetched: true}
		if len(loaded[0].Names) > 0 {
			out.Name = loaded[0].Names[0]
		}
		return out, nil
	}
	name := imagestore.PullName(ref)
	local, matched, lerr := store.Resolve(name)
	if lerr != nil && !errors.Is(lerr, imagestore.ErrNoSuchImage) {
		return Pulled{}, lerr
	}
	found := lerr == nil
	switch {
	case policy.StoredSuffices() && found:
		return Pulled{ID: local.ID, Name: matched}, nil
	case policy == PullNever:
		return Pulled{}, fmt.Errorf("%w: %s, and the pull policy is never", imagestore.ErrNoSuchImage, name)
	case found && matched == "":
		if policy == PullAlways {
			return Pulled{}, fmt.Errorf("image %s was given by ID: there is nothing to pull it from (pull policy always)", name)
		}
		return Pulled{ID: local.ID}, nil
	}
	// A short name the store knows under a registry's name is pulled
	// from there, as podman does (not from localhost/, which is no
	// registry).
	if found && shortnames.IsShortName(name) && !strings.HasPrefix(matched, "localhost/") {
		name = matched
	}

	a, err := store.BeginTransfer()
	if err != nil {
		return Pulled{}, err
	}
	sys, err := o.systemContext(a.TmpDir())
	if err != nil {
		a.Done()
		return Pulled{}, err
	}
	if err := checkAuthFile(sys); err != nil {
		a.Done()
		return Pulled{}, err
	}
	candidate, resolution, record, err := resolve(sys, name)
	if err != nil {
		a.Done()
		if errors.Is(err, ErrNoRegistry) && !found {
			return Pulled{}, fmt.Errorf("%w: %s is not in the image store, and %w", imagestore.ErrNoSuchImage, name, err)
		}
		return Pulled{}, err
	}
	src, err := docker.NewReference(candidate)
	if err != nil {
		a.Done()
		return Pulled{}, err
	}
	if policy == PullNewer && found {
		remote, err := docker.GetDigest(ctx, sys, src)
		if err != nil {
			a.Done()
			return Pulled{}, fmt.Errorf("pull %s: %w", candidate, classify(err, hasCredentials(sys, src)))
		}
		if local.Digest == remote || slices.Contains(local.RepoDigests, reference.TrimNamed(candidate).String()+"@"+remote.String()) {
			a.Done()
			return Pulled{ID: local.ID, Name: matched, Resolution: resolution}, nil
		}
	}
	if o.DryRun {
		a.Done()
		return Pulled{ID: local.ID, Name: candidate.String(), Pending: true, Resolution: resolution}, nil
	}
	dest, err := storeRef(store, candidate, "")
	if err != nil {
		a.Done()
		return Pulled{}, err
	}
	if resolution != "" && o.Progress != nil {
		fmt.Fprintln(o.Progress, resolution)
	}
	resolved, _, err := copyImage(ctx, sys, dest, src, o, nil)
	if err == nil {
		var id string
		if id, err = storedID(store, resolved); err == nil {
			a.Stored(id)
			a.Done()
			// An alias chosen at a prompt is remembered, as podman
			// does; failing to write it is no failure of the pull.
			_ = record()
			return Pulled{ID: id, Name: candidate.String(), Fetched: true, Resolution: resolution}, nil
		}
	}
	if uerr := a.Undo(); uerr != nil {
		err = fmt.Errorf("%w (%w)", err, uerr)
	}
	return Pulled{}, fmt.Errorf("pull %s: %w", candidate, err)
}

// resolve turns a name into the one reference to pull, by registries.conf
// for a short name. Several candidates are an error: a guess could pull
// an impostor's image.
func resolve(sys *types.SystemContext, name string) (reference.Named, string, func() error, error) {
	res, err := shortnames.Resolve(sys, name)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%s: %w: %w", name, ErrNoRegistry, err)
	}
	switch len(res.PullCandidates) {
	case 0:
		return nil, "", nil, fmt.Errorf("%s: %w", name, ErrNoRegistry)
	case 1:
	default:
		var names []string
		for _, c := range res.PullCandidates {
			names = append(names, c.Value.String())
		}
		return nil, "", nil, fmt.Errorf("%w: %q could be %s (unqualified-search-registries of %s); give the full name, or add an alias for it to registries.conf's [aliases] (a terminal would let you choose)",
			ErrAmbiguous, name, strings.Join(names, " or "), registriesConfDescription(sys))
	}
	c := res.PullCandidates[0]
	desc := ""
	if shortnames.IsShortName(name) {
		desc = res.Description()
	}
	return reference.TagNameOnly(c.Value), desc, c.Record, nil
}

// registriesConfDescription names the registries.conf that listed the
// search registries.
func registriesConfDescription(sys *types.SystemContext) string {
	if _, origin, err := sysregistriesv2.UnqualifiedSearchRegistriesWithOrigin(sys); err == nil && origin != "" {
		return origin
	}
	return "registries.conf"
}

package imagestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Tag gives the image ref names more names (normalized as NormalizeName
// does). A name another image had moves to this one, as podman tag does.
func (s *Store) Tag(ref string, names ...string) ([]string, error) {
	img, _, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	var norm []string
	for _, n := range names {
		q, err := NormalizeName(n)
		if err != nil {
			return nil, err
		}
		norm = append(norm, q)
	}
	if err := s.s.AddNames(img.ID, norm); err != nil {
		return nil, fmt.Errorf("tag image %s: %w", shortID(img.ID), err)
	}
	return norm, nil
}

// Untag takes names away from the image ref names; without names, all of
// them. A name may be given short, as for lookups ("app:1" for
// localhost/app:1). The image stays, unnamed if it has no name left.
func (s *Store) Untag(ref string, names ...string) ([]string, error) {
	img, _, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	var drop []string
	if len(names) == 0 {
		drop = slices.Clone(img.Names)
	}
	for _, n := range names {
		p, err := parseName(n)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(candidates(p), func(c string) bool { return slices.Contains(img.Names, c) })
		if i < 0 {
			return nil, fmt.Errorf("%w: image %s is not named %s (its names: %v)", ErrNoSuchImage, shortID(img.ID), n, img.Names)
		}
		drop = append(drop, candidates(p)[i])
	}
	if len(drop) == 0 {
		return nil, nil
	}
	if err := s.s.RemoveNames(img.ID, drop); err != nil {
		return nil, fmt.Errorf("untag image %s: %w", shortID(img.ID), err)
	}
	return drop, nil
}

// Prune removes images no container uses: those without a name, or with
// all every one. Then the layers nothing uses go (see PruneLayers). It
// returns the IDs of the images removed.
func (s *Store) Prune(ctx context.Context, all bool) ([]string, error) {
	imgs, err := s.s.Images()
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var removed []string
	var errs []error
	for _, img := range imgs {
		if len(img.Names) > 0 && !all {
			continue
		}
		users, err := s.containersOf(img.ID)
		if err != nil {
			return removed, err
		}
		if len(users) > 0 {
			continue
		}
		// Its layers go below, once no image is being added: one being
		// pulled may build on them.
		if err := s.deleteImageRecord(img.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, img.ID)
	}
	if _, err := s.PruneLayers(ctx); err != nil {
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

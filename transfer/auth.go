//go:build containers_image_openpgp

package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/pkg/docker/config"
)

// ErrNotLoggedIn is returned by Logout and LoggedInUser for a registry
// the credentials files name no user for.
var ErrNotLoggedIn = errors.New("not logged in")

// authKey is the key of a registry (or REGISTRY/NAMESPACE) in
// containers-auth.json: a scheme and a trailing slash go, as podman does.
func authKey(registry string) (key, host string, err error) {
	key = registry
	for _, p := range []string{"docker://", "https://", "http://"} {
		key = strings.TrimPrefix(key, p)
	}
	key = strings.TrimSuffix(key, "/")
	if key == "" {
		return "", "", errors.New("give the registry (e.g. registry.example.com:5000)")
	}
	host, _, _ = strings.Cut(key, "/")
	return key, host, nil
}

// Login checks user and password with the registry and, if it accepts
// them, stores them in the credentials file podman uses (or --authfile),
// returning which file.
func Login(ctx context.Context, registry, user, password string, o Options) (string, error) {
	key, host, err := authKey(registry)
	if err != nil {
		return "", err
	}
	if user == "" || password == "" {
		return "", errors.New("login: a username and a password are needed")
	}
	sys, err := o.systemContext("")
	if err != nil {
		return "", err
	}
	if err := docker.CheckAuth(ctx, sys, user, password, host); err != nil {
		return "", fmt.Errorf("logging in to %s: %w (nothing was stored)", host, classify(err, true))
	}
	where, err := config.SetCredentials(sys, key, user, password)
	if err != nil {
		return "", fmt.Errorf("store the credentials for %s: %w", key, err)
	}
	return where, nil
}

// Logout removes the credentials for registry, or with all every one,
// from the credentials file podman uses (or --authfile).
func Logout(registry string, all bool, o Options) error {
	sys, err := o.systemContext("")
	if err != nil {
		return err
	}
	if all {
		return config.RemoveAllAuthentication(sys)
	}
	key, _, err := authKey(registry)
	if err != nil {
		return err
	}
	if err := config.RemoveAuthentication(sys, key); err != nil {
		if errors.Is(err, config.ErrNotLoggedIn) {
			return fmt.Errorf("%w to %s", ErrNotLoggedIn, key)
		}
		return fmt.Errorf("logout from %s: %w", key, err)
	}
	return nil
}

// LoggedInUser is the user the credentials name for registry.
func LoggedInUser(registry string, o Options) (string, error) {
	sys, err := o.systemContext("")
	if err != nil {
		return "", err
	}
	key, _, err := authKey(registry)
	if err != nil {
		return "", err
	}
	auth, err := config.GetCredentials(sys, key)
	if err != nil {
		return "", fmt.Errorf("read the credentials for %s: %w", key, err)
	}
	if auth.Username == "" {
		return "", fmt.Errorf("%w to %s", ErrNotLoggedIn, key)
	}
	return auth.Username, nil
}

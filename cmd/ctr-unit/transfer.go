package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/pullpolicy"
	"github.com/ctr-unit/ctr-unit/rootfs"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// The commands that move images (pull, push, load, save, import, login,
// logout) run in ctr-unit-image, which links containers/image: that
// library's package initializers double what starting ctr-unit costs, and
// every container start runs ctr-unit. ctr-unit hands such a command line
// over as it is; imageHelper finds it (unitstep.Helper).
func imageHelper() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locate the ctr-unit binary: %w", err)
	}
	if p := unitstep.Helper(self, unitstep.ImageName); p != "" {
		return p, nil
	}
	return "", errors.New("this command needs ctr-unit-image, which is missing (installed in PREFIX/libexec/ctr-unit beside ctr-unit-step, or built beside ctr-unit): reinstall ctr-unit")
}

// handedOver is a command ctr-unit-image runs: its flags and help are
// ctr-unit-image's.
func handedOver(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:                use,
		Short:              short,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			helper, err := imageHelper()
			if err != nil {
				return err
			}
			argv := append([]string{helper}, os.Args[1:]...)
			if err := unix.Exec(helper, argv, os.Environ()); err != nil {
				return fmt.Errorf("run %s: %w", helper, err)
			}
			return nil
		},
	}
}

// transferCommands are the handed-over commands, for the top level
// (all) or for ctr-unit image (login and logout are top-level only).
func transferCommands(top bool) []*cobra.Command {
	cmds := []*cobra.Command{
		handedOver("pull [--policy always|missing|newer|never] IMAGE...", "Pull images from a registry into the image store"),
		handedOver("push IMAGE [DESTINATION]", "Push an image to a registry"),
		handedOver("load -i FILE", "Load images from a docker-archive or an OCI archive"),
		handedOver("save -o FILE [--format docker-archive|oci-archive] IMAGE...", "Write images to an archive"),
		handedOver("import FILE NAME[:TAG]", "Make an image from a root filesystem tarball"),
	}
	if top {
		cmds = append(cmds,
			handedOver("login [-u USER] [-p PASSWORD | --password-stdin] REGISTRY", "Log in to a registry"),
			handedOver("logout [--all] [REGISTRY]", "Remove a registry's stored credentials"))
	}
	return cmds
}

// pullImage brings a run/create image into the store by its --pull
// policy (podman's default: missing), in ctr-unit-image as a child, whose
// progress and errors go to the caller's terminal. o.ImageName becomes
// the fully qualified name the image was found by, which the container
// is then made from. A failed pull has said why on stderr already and
// ends the command with the helper's status.
func (a *app) pullImage(ctx context.Context, o *container.Options) error {
	if o.Image == "" {
		return nil
	}
	id, name, err := runPull(ctx, a.globals, a.storageDriver, o.Image, o.Pull, o.AuthFile)
	if err != nil {
		return fmt.Errorf("container %s: %w", o.Name, err)
	}
	o.ImageName = name
	if name == "" {
		o.ImageName = id // given by ID: found by it
	}
	return nil
}

// runPull runs ctr-unit-image pull of image by policy ("" is missing)
// and returns the image's ID and the fully qualified name it was found
// by. The helper's progress and errors go to stderr; its failure is an
// exitCode (what failed is on stderr already). extra are more flags of
// the helper's pull.
func runPull(ctx context.Context, g unitstep.Globals, storageDriver, image string, policy pullpolicy.Policy, authFile string, extra ...string) (id, name string, err error) {
	return runPullTo(ctx, os.Stderr, g, storageDriver, image, policy, authFile, extra...)
}

// runPullTo is runPull with the helper's stderr to stderr.
func runPullTo(ctx context.Context, stderr io.Writer, g unitstep.Globals, storageDriver, image string, policy pullpolicy.Policy, authFile string, extra ...string) (id, name string, err error) {
	if id, name, ok := storedForPull(g, storageDriver, image, policy); ok {
		return id, name, nil
	}
	out, err := imageHelperPull(ctx, stderr, g, storageDriver, image, policy, authFile, append([]string{"--print-name"}, extra...)...)
	if err != nil {
		return "", "", err
	}
	id, name, _ = strings.Cut(out, " ")
	if id == "" {
		return "", "", fmt.Errorf("pull image %s: the image helper printed no image ID", image)
	}
	return id, name, nil
}

// storedForPull is the helper's answer when the store settles the pull
// (pullpolicy.StoredSuffices, as transfer.Pull decides first): the image
// the store has by image's name, found here without starting the helper,
// whose containers/image costs as much as making the container does. ok
// is false when the helper must decide: another policy, a transport's
// reference, no such image, or a store that does not open.
func storedForPull(g unitstep.Globals, storageDriver, image string, policy pullpolicy.Policy) (id, name string, ok bool) {
	if policy == "" {
		policy = pullpolicy.Missing
	}
	if !policy.StoredSuffices() {
		return "", "", false
	}
	if t, _, isTransport := imagestore.SplitTransport(image); isTransport && t != "docker" {
		return "", "", false
	}
	store, err := imagestore.Open(rootfs.StorageOptions(g.Dirs, storageDriver))
	if err != nil {
		return "", "", false
	}
	defer store.Close()
	id, name, err = store.Find(imagestore.PullName(image))
	return id, name, err == nil
}

// pullPending asks the registry, without pulling, whether a pull of image
// by policy newer would fetch a new image.
func pullPending(ctx context.Context, g unitstep.Globals, storageDriver, image, authFile string) (bool, error) {
	out, err := imageHelperPull(ctx, os.Stderr, g, storageDriver, image, pullpolicy.Newer, authFile, "--dry-run")
	if err != nil {
		return false, err
	}
	state, _, _ := strings.Cut(out, " ")
	switch state {
	case "pending":
		return true, nil
	case "current":
		return false, nil
	}
	return false, fmt.Errorf("check image %s: the image helper said %q", image, out)
}

// imageHelperPull runs ctr-unit-image's pull and returns what it printed.
func imageHelperPull(ctx context.Context, stderr io.Writer, g unitstep.Globals, storageDriver, image string, policy pullpolicy.Policy, authFile string, extra ...string) (string, error) {
	if policy == "" {
		policy = pullpolicy.Missing
	}
	helper, err := imageHelper()
	if err != nil {
		return "", err
	}
	args := g.Flags()
	if storageDriver != "" {
		args = append(args, "--storage-driver", storageDriver)
	}
	args = append(append(args, "pull", "--policy", string(policy)), extra...)
	if authFile != "" {
		args = append(args, "--authfile", authFile)
	}
	cmd := exec.CommandContext(ctx, helper, append(args, "--", image)...)
	cmd.Stdin, cmd.Stderr = os.Stdin, stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return "", exitCode(ee.ExitCode())
	}
	if err != nil {
		return "", fmt.Errorf("pull image %s: %w", image, err)
	}
	return strings.TrimSpace(string(out)), nil
}

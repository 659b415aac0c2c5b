package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// The commands that move images (pull, push, load, save, import, login,
// logout) run in ctr-unit-image, which links containers/image: that
// library's package initializers double what starting ctr-unit costs, and
// every container start runs ctr-unit. ctr-unit hands such a command line
// over as it is.
const imageHelperName = "ctr-unit-image"

// imageHelper finds ctr-unit-image where stepBinary finds ctr-unit-step.
func imageHelper() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locate the ctr-unit binary: %w", err)
	}
	dir := filepath.Dir(self)
	for _, p := range []string{
		filepath.Join(dir, "..", "libexec", "ctr-unit", imageHelperName),
		filepath.Join(dir, imageHelperName),
	} {
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return filepath.Clean(p), nil
		}
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

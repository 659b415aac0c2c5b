//go:build containers_image_openpgp

// Command ctr-unit-image runs ctr-unit's commands that move images:
// pull, push, load, save, import, login and logout, with containers/image.
// ctr-unit hands these commands to it (same arguments), so that the
// library's package initializers are not paid by every other ctr-unit
// command, and every container start.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"go.podman.io/storage/pkg/reexec"

	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/rootfs"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// Exit code when ctr-unit itself failed, as podman's.
const exitError = 125

type app struct {
	dirs          unitstep.Dirs
	storageDriver string
}

func (a *app) openImages() (*imagestore.Store, error) {
	return imagestore.Open(rootfs.StorageOptions(a.dirs, a.storageDriver))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "ctr-unit",
		Short:         "Run containers as systemd services (image transfers)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// ctr-unit's global flags, so that its command lines pass as they are.
	def := unitstep.DefaultGlobals()
	pf := root.PersistentFlags()
	pf.StringVar(&a.dirs.StateDir, "state-dir", envOr("CTR_UNIT_STATE_DIR", def.StateDir), "where container records are kept")
	pf.StringVar(&a.dirs.RuntimeDir, "runtime-dir", envOr("CTR_UNIT_RUNTIME_DIR", def.RuntimeDir), "where runtime data is kept")
	pf.StringVar(&a.storageDriver, "storage-driver", envOr("CTR_UNIT_STORAGE_DRIVER", ""), "image store driver: overlay or vfs (default: detected)")
	pf.String("runtime", "", "unused here")
	pf.String("unit-dir", "", "unused here")
	_ = pf.MarkHidden("runtime")
	_ = pf.MarkHidden("unit-dir")

	image := &cobra.Command{Use: "image", Short: "Manage images"}
	image.AddCommand(a.pullCommand(), a.pushCommand(), a.loadCommand(), a.saveCommand(), a.importCommand())
	root.AddCommand(image, a.pullCommand(), a.pushCommand(), a.loadCommand(), a.saveCommand(), a.importCommand(),
		a.loginCommand(), a.logoutCommand())
	return root
}

func main() {
	if reexec.Init() { // storage's overlay driver re-executes this binary
		return
	}
	// containers/storage and containers/image log at info level;
	// ctr-unit's own output says what matters, and its errors carry
	// theirs.
	logrus.SetLevel(logrus.WarnLevel)
	// An interrupted transfer undoes what it stored: the copy stops at
	// the context's end and the error path cleans up.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRootCommand(&app{})
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			err = fmt.Errorf("interrupted: %w", err)
		}
		fmt.Fprintln(os.Stderr, "ctr-unit:", err)
		os.Exit(exitError)
	}
}

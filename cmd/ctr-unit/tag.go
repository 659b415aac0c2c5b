package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) tagCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tag IMAGE NAME[:TAG]...",
		Short: "Give an image more names",
		Long: "Give an image more names. A name without a registry is local (localhost/NAME), as in podman;\n" +
			"a name another image had moves to this one.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.openImages()
			if err != nil {
				return err
			}
			defer store.Close()
			_, err = store.Tag(args[0], args[1:]...)
			return err
		},
	}
}

func (a *app) untagCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "untag IMAGE [NAME[:TAG]...]",
		Short: "Take names away from an image (all of them without NAME); the image stays",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.openImages()
			if err != nil {
				return err
			}
			defer store.Close()
			_, err = store.Untag(args[0], args[1:]...)
			return err
		},
	}
}

func (a *app) pruneCommand() *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune [-a] [-f]",
		Short: "Remove images no container uses: unnamed ones, or with -a all",
		Long: "Remove the images no container uses that have no name (with -a, all of them), and the layers\n" +
			"no image or container uses (what an interrupted pull leaves). Asks first, unless -f.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force {
				what := "all dangling images"
				if all {
					what = "all images not used by a container"
				}
				fmt.Fprintf(os.Stderr, "WARNING! This command removes %s.\nAre you sure you want to continue? [y/N] ", what)
				answer, err := bufio.NewReader(os.Stdin).ReadString('\n')
				if err != nil && answer == "" {
					return errors.New("no answer on stdin: give -f to prune without asking")
				}
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return nil
				}
			}
			store, err := a.openImages()
			if err != nil {
				return err
			}
			defer store.Close()
			removed, err := store.Prune(cmd.Context(), all)
			for _, id := range removed {
				fmt.Println(id)
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove every image no container uses, named or not")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask")
	return cmd
}

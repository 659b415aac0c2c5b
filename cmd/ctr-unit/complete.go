package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/recordstore"
)

// Shell completion (ctr-unit completion bash|zsh|fish, cobra's own):
// container, image and network names are completed from what is stored,
// without asking systemd, so a completion never waits on it.

type completer = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// containerNames lists the stored containers' names starting with prefix.
func (a *app) containerNames(prefix string) []string {
	names, err := recordstore.Open(a.globals.Dirs).Names()
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// completeContainers completes container names: each argument with many,
// the first one only with first (the rest is a command).
func (a *app) completeContainers(first bool) completer {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if first && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return a.containerNames(toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// imageNames lists the stored images' names starting with prefix.
func (a *app) imageNames(prefix string) []string {
	store, err := a.openImages()
	if err != nil {
		return nil
	}
	defer store.Close()
	images, err := store.Images()
	if err != nil {
		return nil
	}
	var out []string
	for _, img := range images {
		for _, n := range img.Names {
			if strings.HasPrefix(n, prefix) {
				out = append(out, n)
			}
		}
	}
	return out
}

// completeImages completes image names for the first argument.
func (a *app) completeImages(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return a.imageNames(toComplete), cobra.ShellCompDirectiveNoFileComp
}

// networkNames are the networks a container can join.
func networkNames(toComplete string) []string {
	var out []string
	for _, n := range []string{container.NetworkHost, container.NetworkNone} {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out
}

// containerCommands take container names as arguments; imageCommands
// an image first.
var (
	containerCommands = map[string]bool{
		"start": true, "stop": true, "restart": true, "rm": true, "kill": true, "inspect": true,
		"logs": true, "pause": true, "unpause": true, "stats": true, "wait": true, "export": true,
		"mount": true, "umount": true, "attach": true, "top": true, "exec": true, "port": true,
	}
	firstOnly      = map[string]bool{"logs": true, "exec": true, "top": true, "attach": true, "export": true}
	imageCommands  = map[string]bool{"run": true, "create": true, "rmi": true, "inspect": true, "rm": true}
	imageGroupCmds = map[string]bool{"image": true}
)

// registerCompletions gives every command of root the completion of the
// names it takes, and --network and --requires theirs.
func (a *app) registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command, parent string)
	walk = func(c *cobra.Command, parent string) {
		name := c.Name()
		switch {
		case c.ValidArgsFunction != nil:
		case imageGroupCmds[parent] && imageCommands[name], parent == "" && (name == "run" || name == "create" || name == "rmi"):
			c.ValidArgsFunction = a.completeImages
		case parent == "" && containerCommands[name]:
			c.ValidArgsFunction = a.completeContainers(firstOnly[name])
		case parent == "healthcheck" && name == "run":
			c.ValidArgsFunction = a.completeContainers(true)
		}
		if c.Flags().Lookup("network") != nil {
			_ = c.RegisterFlagCompletionFunc("network", func(_ *cobra.Command, _ []string, p string) ([]string, cobra.ShellCompDirective) {
				return networkNames(p), cobra.ShellCompDirectiveNoFileComp
			})
		}
		if c.Flags().Lookup("requires") != nil {
			_ = c.RegisterFlagCompletionFunc("requires", func(_ *cobra.Command, _ []string, p string) ([]string, cobra.ShellCompDirective) {
				return a.containerNames(p), cobra.ShellCompDirectiveNoFileComp
			})
		}
		for _, sub := range c.Commands() {
			walk(sub, name)
		}
	}
	for _, c := range root.Commands() {
		walk(c, "")
	}
}

//go:build ctrunit_docs

// The man pages' generator (cobra/doc, with a Markdown renderer and a YAML
// library) is linked only into the build that packaging runs, with the tag
// ctrunit_docs (make install, hack/mkdeb): every command starts the
// binary, and pays for what it links at each start.

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// docsCommand writes the man pages and the shell completions made from
// the command definitions themselves (cobra's doc and completion
// generators), for make install and the Debian package:
// DIR/man1/ctr-unit*.1, DIR/bash/ctr-unit, DIR/zsh/_ctr-unit and
// DIR/fish/ctr-unit.fish.
func (a *app) docsCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:    "generate-docs DIR",
		Short:  "Write man pages and shell completions (for packaging)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			for _, d := range []string{"man1", "bash", "zsh", "fish"} {
				if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
					return err
				}
			}
			root.DisableAutoGenTag = true
			header := &doc.GenManHeader{Title: "CTR-UNIT", Section: "1", Source: "ctr-unit", Manual: "ctr-unit manual"}
			if err := doc.GenManTree(root, header, filepath.Join(dir, "man1")); err != nil {
				return fmt.Errorf("man pages: %w", err)
			}
			gens := []struct {
				file string
				gen  func(string) error
			}{
				{"bash/ctr-unit", func(p string) error { return root.GenBashCompletionFileV2(p, true) }},
				{"zsh/_ctr-unit", root.GenZshCompletionFile},
				{"fish/ctr-unit.fish", func(p string) error { return root.GenFishCompletionFile(p, true) }},
			}
			for _, g := range gens {
				if err := g.gen(filepath.Join(dir, g.file)); err != nil {
					return fmt.Errorf("completion %s: %w", g.file, err)
				}
			}
			return nil
		},
	}
}

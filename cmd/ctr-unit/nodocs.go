//go:build !ctrunit_docs

package main

import "github.com/spf13/cobra"

// docsCommand is in the ctrunit_docs build only (docs.go).
func (a *app) docsCommand(*cobra.Command) *cobra.Command { return nil }

package main

import "github.com/ctr-unit/ctr-unit/supervisor"

// entrypointValue is --entrypoint: parsed as it is set, so a malformed
// JSON array fails the command before anything is stored, and kept as
// given, so generate systemd --new replays the user's words.
type entrypointValue struct {
	raw string
	dst *[]string
}

func (v *entrypointValue) Set(s string) error {
	argv, err := supervisor.ParseEntrypoint(s)
	if err != nil {
		return err
	}
	v.raw, *v.dst = s, argv
	return nil
}

func (v *entrypointValue) String() string { return v.raw }
func (v *entrypointValue) Type() string   { return "string" }

package container

import (
	"math/rand/v2"
)

// Words of generated names, as podman's adjective_noun (docker's
// namesgenerator has a list of its own; these are ctr-unit's).
var (
	nameAdjectives = []string{
		"agile", "amber", "ample", "brave", "brisk", "calm", "candid", "clever", "cosmic", "crisp",
		"daring", "deft", "eager", "early", "earnest", "epic", "fair", "fervent", "festive", "fluent",
		"frank", "gentle", "glad", "golden", "grand", "happy", "hardy", "hearty", "humble", "jolly",
		"keen", "kind", "lively", "loyal", "lucid", "lucky", "merry", "mellow", "modest", "nimble",
		"noble", "patient", "plucky", "polite", "proud", "quick", "quiet", "rapid", "ready", "robust",
		"serene", "sharp", "shiny", "silent", "sleepy", "smart", "snappy", "sober", "solid", "steady",
		"stoic", "sunny", "swift", "tender", "tidy", "upbeat", "valiant", "vivid", "warm", "witty",
		"zealous", "zen",
	}
	nameNouns = []string{
		"acorn", "alder", "aspen", "badger", "beacon", "birch", "bison", "bramble", "brook", "canyon",
		"cedar", "comet", "condor", "coral", "crane", "delta", "dune", "ember", "falcon", "fern",
		"fjord", "gecko", "glacier", "harbor", "hazel", "heron", "ibis", "island", "jackal", "juniper",
		"kestrel", "lagoon", "larch", "lynx", "maple", "marmot", "meadow", "meteor", "nebula", "oasis",
		"orbit", "osprey", "otter", "pebble", "pine", "plover", "prairie", "quartz", "quasar", "raven",
		"reef", "ridge", "river", "robin", "sequoia", "spruce", "summit", "tundra", "valley", "walrus",
		"willow", "wren", "yak", "zephyr",
	}
)

// GenerateName makes a name as podman does when none is given:
// adjective_noun. taken tells a name already used; after a few tries a
// number is added, as podman's generator does.
func GenerateName(taken func(string) bool) string {
	for i := 0; ; i++ {
		n := nameAdjectives[rand.IntN(len(nameAdjectives))] + "_" + nameNouns[rand.IntN(len(nameNouns))]
		if i >= 5 {
			n += string(rune('0' + rand.IntN(10)))
		}
		if !taken(n) {
			return n
		}
	}
}

// Command netsetter sets up or tears down one container's network with
// the network package, as the unit's start and stop steps will: the
// integration tests run it as a unit and kill it mid-way.
//
//	netsetter -networks DIR -runtime DIR [-p SPEC]... setup|teardown CONTAINER NETWORK...
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/ctr-unit/ctr-unit/network"
)

type list []string

func (l *list) String() string     { return fmt.Sprint(*l) }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	netDir := flag.String("networks", "", "network definitions")
	runDir := flag.String("runtime", "", "runtime dir")
	var ports list
	flag.Var(&ports, "p", "published port")
	flag.Parse()
	if flag.NArg() < 2 {
		fail(fmt.Errorf("usage: netsetter [flags] setup|teardown CONTAINER NETWORK..."))
	}
	rt := &network.Runtime{Store: &network.Store{Dir: *netDir}, RuntimeDir: *runDir}
	ctx := context.Background()
	switch verb, name := flag.Arg(0), flag.Arg(1); verb {
	case "setup":
		req := network.SetupRequest{Container: name}
		for _, n := range flag.Args()[2:] {
			req.Networks = append(req.Networks, network.Attach{Network: n})
		}
		for _, p := range ports {
			m, err := network.ParsePublish(p)
			if err != nil {
				fail(err)
			}
			req.Ports = append(req.Ports, m)
		}
		a, err := rt.Setup(ctx, req)
		if err != nil {
			fail(err)
		}
		json.NewEncoder(os.Stdout).Encode(a)
	case "teardown":
		if err := rt.Teardown(ctx, name); err != nil {
			fail(err)
		}
	default:
		fail(fmt.Errorf("unknown verb %q", verb))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "netsetter:", err)
	os.Exit(1)
}

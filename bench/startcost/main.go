// Command startcost measures what starting a binary costs: its size, the
// sum of its package inits (GODEBUG=inittrace=1) and the wall time of one
// run, medians over many runs. Every container start runs ctr-unit, so
// this is paid at each.
//
//	go run ./bench/startcost [-n 200] BINARY [ARGS...] [-- BINARY [ARGS...]]...
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 200, "runs per binary")
	flag.Parse()
	var cmds [][]string
	cur := []string{}
	for _, a := range flag.Args() {
		if a == "--" {
			if len(cur) > 0 {
				cmds = append(cmds, cur)
			}
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	if len(cur) > 0 {
		cmds = append(cmds, cur)
	}
	if len(cmds) == 0 {
		fmt.Fprintln(os.Stderr, "usage: startcost [-n RUNS] BINARY [ARGS...] [-- BINARY [ARGS...]]...")
		os.Exit(2)
	}
	fmt.Printf("%-40s %10s %8s %12s %12s\n", "command", "size MB", "inits", "init ms", "wall ms")
	// The commands take turns, so all see the same machine.
	walls := make([][]time.Duration, len(cmds))
	inits := make([][]float64, len(cmds))
	counts := make([]int, len(cmds))
	for range *n {
		for i, c := range cmds {
			d, err := wall(c)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			walls[i] = append(walls[i], d)
		}
	}
	for range max(*n/10, 5) {
		for i, c := range cmds {
			ms, k, err := initTime(c)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			inits[i] = append(inits[i], ms)
			counts[i] = k
		}
	}
	for i, c := range cmds {
		info, err := os.Stat(c[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		slices.Sort(walls[i])
		slices.Sort(inits[i])
		fmt.Printf("%-40s %10.1f %8d %12.2f %12.2f\n", strings.Join(c, " "), float64(info.Size())/1e6, counts[i],
			inits[i][len(inits[i])/2], float64(walls[i][len(walls[i])/2].Microseconds())/1000)
	}
}

func wall(c []string) (time.Duration, error) {
	cmd := exec.Command(c[0], c[1:]...)
	t := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, out)
	}
	return time.Since(t), nil
}

// initTime sums the clock time of every package init of one run.
func initTime(c []string) (float64, int, error) {
	cmd := exec.Command(c[0], c[1:]...)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, stderr.String())
	}
	// "init PKG @T ms, CLOCK ms clock, BYTES bytes, ALLOCS allocs"
	total, k := 0.0, 0
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 6 && f[0] == "init" && f[5] == "ms" {
			v, err := strconv.ParseFloat(f[4], 64)
			if err == nil {
				total += v
				k++
			}
		}
	}
	return total, k, nil
}

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"github.com/ctr-unit/ctr-unit/container"
	"slices"
	"strings"

	"github.com/ctr-unit/ctr-unit/definition"
)

// ErrDependencyCycle is returned when containers require each other.
var ErrDependencyCycle = errors.New("dependency cycle")

// findCycle returns a dependency cycle reachable from start as the path
// around it ("a", "b", "a"), or nil. deps maps each container to the
// containers it requires.
func findCycle(deps map[string][]string, start string) []string {
	const (
		unseen = iota
		onPath
		done
	)
	mark := map[string]int{}
	var path []string
	var visit func(n string) []string
	visit = func(n string) []string {
		switch mark[n] {
		case onPath:
			i := slices.Index(path, n)
			return append(slices.Clone(path[i:]), n)
		case done:
			return nil
		}
		mark[n] = onPath
		path = append(path, n)
		for _, d := range deps[n] {
			if c := visit(d); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		mark[n] = done
		return nil
	}
	return visit(start)
}

// dependencyGraph maps every known container (records and definition
// files) to the containers it requires.
func (s *Supervisor) dependencyGraph() (map[string][]string, error) {
	graph := map[string][]string{}
	names, err := s.store.Names()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if cfg, err := s.store.Config(n); err == nil {
			graph[n] = cfg.Requires
		}
	}
	defs, err := s.definitions()
	if err != nil {
		return nil, err
	}
	for name, path := range defs {
		if cfg, err := s.store.Config(name); err == nil && cfg.Source == "" {
			continue // made with create: the file is ignored
		}
		if _, cfg, err := s.loadDefinition(path, defs, false, nil); err == nil {
			graph[name] = cfg.Requires
		} else if _, known := graph[name]; !known {
			graph[name] = nil
		}
	}
	return graph, nil
}

// checkNewName refuses a new container whose name a definition file holds,
// whose dependencies do not exist, or that would close a cycle.
func (s *Supervisor) checkNewName(cfg *container.Config) error {
	defs, err := definition.Find(s.defDirs)
	if err != nil {
		return err
	}
	if path, ok := defs[cfg.Name]; ok {
		return fmt.Errorf("%w: container %s is defined in %s; edit that file or choose another name", container.ErrNameInUse, cfg.Name, path)
	}
	if len(cfg.Requires) == 0 {
		return nil
	}
	graph, err := s.dependencyGraph()
	if err != nil {
		return err
	}
	for _, dep := range cfg.Requires {
		if _, ok := graph[dep]; !ok {
			return fmt.Errorf("%w: container %s requires %s, which does not exist; create it first", container.ErrNoSuchContainer, cfg.Name, dep)
		}
	}
	graph[cfg.Name] = cfg.Requires
	if cycle := findCycle(graph, cfg.Name); cycle != nil {
		return fmt.Errorf("%w: %s; container %s is refused", ErrDependencyCycle, strings.Join(cycle, " -> "), cfg.Name)
	}
	return nil
}

// installUnit writes the drop-in of a new template instance and has
// systemd load it, so systemctl start works at once.
func (s *Supervisor) installUnit(ctx context.Context, cfg *container.Config) error {
	systemd, err := s.sd(ctx)
	if err != nil {
		return err
	}
	if _, err := s.writeDropIn(cfg, s.service(cfg)); err != nil {
		return err
	}
	return systemd.Reload(ctx)
}

// startDependencies starts, first, each container cfg requires that is
// not running, and says which one failed.
func (s *Supervisor) startDependencies(ctx context.Context, cfg *container.Config) error {
	if len(cfg.Requires) == 0 {
		return nil
	}
	graph, err := s.dependencyGraph()
	if err != nil {
		return err
	}
	if cycle := findCycle(graph, cfg.Name); cycle != nil {
		return fmt.Errorf("%w: %s; fix the Requires of these containers", ErrDependencyCycle, strings.Join(cycle, " -> "))
	}
	for _, dep := range cfg.Requires {
		if err := s.syncDefinition(dep, false); err != nil {
			return fmt.Errorf("start %s: dependency %s: %w", cfg.Name, dep, err)
		}
		info, err := s.Inspect(ctx, dep)
		if err != nil {
			return fmt.Errorf("start %s: dependency %s: %w", cfg.Name, dep, err)
		}
		if info.Status == StatusRunning {
			continue
		}
		if err := s.Start(ctx, dep, StartOptions{}); err != nil {
			return fmt.Errorf("start %s: dependency %s failed: %w", cfg.Name, dep, err)
		}
	}
	return nil
}

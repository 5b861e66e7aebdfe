package envsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrOverlap is returned when two routes share or nest the same store.
var ErrOverlap = errors.New("routes overlap")

// Claim is the part of a shared namespace a store owns: one name (an S3
// object, a file, a tfvars variable, a secret), or with Prefix every name
// under Name + "/" (Secrets Manager's per-key layout).
type Claim struct {
	// Space is the namespace the name lives in ("secretsmanager", "s3",
	// "file", "tfvars:/abs/path"); claims in different spaces never overlap.
	Space string
	Name  string
	// Prefix: the store owns every name under Name + "/".
	Prefix bool
}

// Claimer is implemented by stores that can say what they own without a
// call. The plan refuses two routes whose claims overlap, before any read.
type Claimer interface {
	Claim() Claim
}

// SourceOnly is implemented by stores that are read as a source but are
// never a route's destination (heroku://: envsync import never writes to
// Heroku).
type SourceOnly interface {
	SourceOnly() bool
}

type claimed struct {
	Claim
	app, url, source string
}

func (c claimed) String() string { return fmt.Sprintf("app %q routes to %s", c.app, c.url) }

// overlaps finds routes whose stores overlap across the config's apps:
// nested per-key prefixes always (a prune of the outer deletes the inner's
// secrets, and the outer reads them as its own); the same store routed from
// two apps with different sources (each import writes back its own values)
// or when pruning (each would delete the other's keys). Sorting by
// name makes it O(n log n) in the number of routes.
func overlaps(ctx context.Context, cfg *Config, opts OpenOptions, prune bool) error {
	var all []claimed
	for _, app := range cfg.Apps {
		seen := map[string]bool{}
		for _, class := range applyOrder {
			u, ok := app.Routes[class]
			if !ok || seen[u] {
				continue
			}
			seen[u] = true
			st, err := Open(ctx, u, opts)
			if err != nil {
				continue // reported when that app is planned
			}
			if c, ok := st.(Claimer); ok {
				all = append(all, claimed{Claim: c.Claim(), app: app.Name, url: u, source: app.Source})
			}
		}
	}
	slices.SortFunc(all, func(a, b claimed) int {
		// Sorting by Name+"/" keeps every name under P/ right after P.
		return cmp.Or(cmp.Compare(a.Space, b.Space), cmp.Compare(a.Name+"/", b.Name+"/"))
	})
	var open []claimed // prefix claims enclosing the current name
	for i, c := range all {
		for len(open) > 0 {
			top := open[len(open)-1]
			if top.Space == c.Space && strings.HasPrefix(c.Name, top.Name+"/") {
				break
			}
			open = open[:len(open)-1]
		}
		if len(open) > 0 {
			outer := open[len(open)-1]
			return WithHint(fmt.Errorf("%w: %s, inside %s (%s): that route would read, and with --prune delete, the other's secrets", ErrOverlap, c, outer, "per-key prefix "+outer.Name+"/"),
				"give each app its own prefix that is not inside another's, e.g. acme/prod/web and acme/prod/worker")
		}
		if i > 0 {
			prev := all[i-1]
			same := prev.Space == c.Space && prev.Name == c.Name && prev.Prefix == c.Prefix
			if same && prev.app == c.app && prev.url != c.url {
				return WithHint(fmt.Errorf("%w: app %q routes to %s and %s, which are the same store: each write would undo the other", ErrOverlap, c.app, prev.url, c.url),
					"spell the route the same way for every class that shares the store")
			}
			if same && prev.app != c.app && prev.source != c.source {
				return WithHint(fmt.Errorf("%w: %s and %s is the same store, but their sources differ (%s, %s): each import would write back its own values over the other's", ErrOverlap, prev, c, prev.source, c.source),
					"route each app to its own store; apps that share a store must share their source (e.g. a web and a worker service of one Heroku app)")
			}
			if same && prev.app != c.app && prune {
				return WithHint(fmt.Errorf("%w: %s and %s is the same store: with --prune each would delete the other's keys", ErrOverlap, prev, c),
					"route each app to its own store, or run without --prune")
			}
		}
		if c.Prefix {
			open = append(open, c)
		}
	}
	return nil
}

// checkOverlaps runs overlaps once per config and prune setting.
func (c *Config) checkOverlaps(ctx context.Context, opts OpenOptions, prune bool) error {
	i := 0
	if prune {
		i = 1
	}
	c.overlapOnce[i].Do(func() { c.overlapErr[i] = overlaps(ctx, c, opts, prune) })
	return c.overlapErr[i]
}

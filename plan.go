package envsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"golang.org/x/sync/errgroup"
)

// Action is what a plan does to one key of one store.
type Action string

// Actions. Extra is a key found only in a store (added by hand): it is
// reported, and deleted only with Prune (then it is a Delete).
const (
	Add    Action = "add"
	Update Action = "update"
	Delete Action = "delete"
	Extra  Action = "extra"
)

// Change is one key to change in one store.
type Change struct {
	Store  string `json:"store"`
	Class  Class  `json:"class"`
	Key    string `json:"key"`
	Action Action `json:"action"`
	// Old and New are the values before and after; "" when absent. Never
	// print them for a Sensitive change: use Show.
	Old string `json:"-"`
	New string `json:"-"`
	// Sensitive changes carry secret values.
	Sensitive bool   `json:"sensitive,omitempty"`
	Addon     string `json:"addon,omitempty"`
}

// Show renders one side of the change for people: the value, or for a
// sensitive change "(sensitive) sha256:…" so two runs can be compared.
func (c Change) Show(value string) string {
	if c.Sensitive {
		if value == "" {
			return "(sensitive)"
		}
		return "(sensitive) " + Fingerprint(c.Key, value)
	}
	return value
}

// Entry is a source variable with the classifier's decision.
type Entry struct {
	Var
	Decision
	// Route is the store URL the variable goes to, or "" (ignored or unrouted).
	Route string
}

// ClassifySource reads a source and classifies every variable, sorted by name.
func ClassifySource(ctx context.Context, src Source, cl Classifier) ([]Entry, error) {
	snap, err := src.Read(ctx)
	if err != nil {
		return nil, err
	}
	return ClassifyVars(snap, cl), nil
}

// ClassifyVars classifies a snapshot's variables, sorted by name.
func ClassifyVars(snap *Snapshot, cl Classifier) []Entry {
	entries := make([]Entry, 0, len(snap.Vars))
	for _, name := range slices.Sorted(maps.Keys(snap.Vars)) {
		v := Var{Name: name, Value: snap.Vars[name], Addon: snap.Addons[name]}
		entries = append(entries, Entry{Var: v, Decision: cl.Classify(v)})
	}
	return entries
}

// Engine plans and applies imports and drift checks.
type Engine struct {
	Classifier Classifier
	Open       OpenOptions // BaseDir is taken from the config
	// Prune deletes keys found only in a store; without it they are Extra.
	Prune  bool
	Logger *slog.Logger
}

// AppPlan is what it takes to make an app's stores match its source.
type AppPlan struct {
	App     *App
	Entries []Entry
	// Changes are the writes to make (add, update, and delete with Prune).
	Changes []Change
	// Extra are keys found only in a store, left alone (without Prune).
	Extra []Change
	// Unrouted are the classes that have variables but no route.
	Unrouted map[Class]int

	targets []*target
	cl      Classifier
}

// sensitive reports whether a value found in a store must not be shown:
// it sits in a store that holds secrets, or it looks like one itself (a
// token someone pasted into an env file by hand).
func (p *AppPlan) sensitive(holdsSecrets bool, key, value string) bool {
	return holdsSecrets || value != "" && p.cl.Classify(Var{Name: key, Value: value}).Class == Secret
}

// target is one store a plan writes.
type target struct {
	url       string
	classes   []Class
	store     Store
	base      *Snapshot
	want      map[string]string
	sensitive bool
	changes   []Change
}

// applyOrder is the order stores are written in: secrets first, then
// tfvars-style config, then feature flags, so nothing ever points at a
// secret that does not exist yet.
var applyOrder = []Class{Secret, Static, Dynamic, Feature}

// Plan reads the app's source, classifies it, reads every routed store and
// computes the changes. It writes nothing. A route that would put a secret
// in a plain-text store is refused with ErrSecretRoute before any read.
func (e *Engine) Plan(ctx context.Context, cfg *Config, app *App) (*AppPlan, error) {
	opts := e.Open
	opts.BaseDir = cfg.Dir
	log := e.logger().With("app", app.Name)

	// Open every store first: bad URLs and secret routes fail before any call.
	byURL := map[string]*target{}
	var targets []*target
	for _, class := range applyOrder {
		url, ok := app.Routes[class]
		if !ok {
			continue
		}
		t := byURL[url]
		if t == nil {
			st, err := Open(ctx, url, opts)
			if err != nil {
				return nil, fmt.Errorf("app %q: %w", app.Name, err)
			}
			t = &target{url: url, store: st}
			byURL[url] = t
			targets = append(targets, t)
		}
		t.classes = append(t.classes, class)
		if class == Secret {
			t.sensitive = true
			if !IsSecretHolder(t.store) {
				return nil, WithHint(fmt.Errorf("app %q: routes: secret → %s: %w", app.Name, url, ErrSecretRoute),
					"route secret to secretsmanager://NAME (or file:PATH for a local 0600 file)")
			}
		}
	}

	src, err := OpenSource(ctx, app.Source, opts)
	if err != nil {
		return nil, fmt.Errorf("app %q: source: %w", app.Name, err)
	}

	// Read the source and every store at once.
	var srcSnap *Snapshot
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		s, err := src.Read(gctx)
		if err != nil {
			return err // names the file and line, or the store URL
		}
		srcSnap = s
		return nil
	})
	for _, t := range targets {
		g.Go(func() error {
			s, err := t.store.Read(gctx)
			if err != nil {
				return err // stores name themselves in their errors
			}
			t.base = s
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}

	p := &AppPlan{App: app, cl: e.Classifier, Entries: ClassifyVars(srcSnap, e.Classifier), Unrouted: map[Class]int{}, targets: targets}
	desired := map[string]map[string]string{} // url → key → value
	classOf := map[string]map[string]Class{}  // url → key → class
	for i := range p.Entries {
		en := &p.Entries[i]
		if en.Class == Ignore {
			continue
		}
		url, ok := app.Routes[en.Class]
		if !ok {
			p.Unrouted[en.Class]++
			continue
		}
		en.Route = url
		if desired[url] == nil {
			desired[url], classOf[url] = map[string]string{}, map[string]Class{}
		}
		desired[url][en.Name] = en.Value
		classOf[url][en.Name] = en.Class
	}
	addon := map[string]string{}
	for _, en := range p.Entries {
		if en.Addon != "" {
			addon[en.Name] = en.Addon
		}
	}

	for _, t := range targets {
		want := desired[t.url]
		if want == nil {
			want = map[string]string{}
		}
		t.want = maps.Clone(want)
		for _, k := range slices.Sorted(maps.Keys(t.base.Vars)) {
			old := t.base.Vars[k]
			nv, ok := want[k]
			class := classOf[t.url][k]
			if !ok {
				class = t.classes[0]
				ch := Change{Store: t.url, Class: class, Key: k, Action: Extra, Old: old, Sensitive: p.sensitive(t.sensitive, k, old)}
				if e.Prune {
					ch.Action = Delete
					t.changes = append(t.changes, ch)
				} else {
					t.want[k] = old // left alone
					p.Extra = append(p.Extra, ch)
				}
				continue
			}
			if nv != old {
				t.changes = append(t.changes, Change{Store: t.url, Class: class, Key: k, Action: Update, Old: old, New: nv, Sensitive: class == Secret || p.sensitive(false, k, old), Addon: addon[k]})
			}
		}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if _, ok := t.base.Vars[k]; !ok {
				class := classOf[t.url][k]
				t.changes = append(t.changes, Change{Store: t.url, Class: class, Key: k, Action: Add, New: want[k], Sensitive: class == Secret, Addon: addon[k]})
			}
		}
		slices.SortStableFunc(t.changes, func(a, b Change) int { return cmp.Compare(a.Key, b.Key) })
		p.Changes = append(p.Changes, t.changes...)
		log.Debug("planned store", "store", t.url, "classes", t.classes, "keys", len(want), "changes", len(t.changes), "exists", t.base.Exists)
	}
	return p, nil
}

// HasChanges reports whether applying the plan would write anything.
func (p *AppPlan) HasChanges() bool { return len(p.Changes) > 0 }

// Validate checks every write the plan would make, before the first one:
// values a store cannot carry are refused, naming each key.
func (p *AppPlan) Validate() error {
	var errs []error
	for _, t := range p.targets {
		if len(t.changes) == 0 {
			continue
		}
		if v, ok := t.store.(Validator); ok {
			if err := v.Validate(t.want); err != nil {
				errs = append(errs, fmt.Errorf("app %q: %w", p.App.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Apply validates the plan, then writes each store that has changes:
// secrets first, then static and dynamic config, then feature flags. A store
// without changes gets no call at all.
func (e *Engine) Apply(ctx context.Context, p *AppPlan, meta map[string]string) error {
	if err := p.Validate(); err != nil {
		return err
	}
	log := e.logger().With("app", p.App.Name)
	for _, t := range p.targets {
		if len(t.changes) == 0 {
			continue
		}
		log.Debug("writing store", "store", t.url, "changes", len(t.changes))
		err := t.store.Write(ctx, &WriteRequest{Base: t.base, Vars: t.want, Sensitive: t.sensitive, Meta: meta})
		if err != nil {
			if errors.Is(err, ErrConflict) {
				err = WithHint(err, "someone changed it since the plan was made; run the command again to re-plan")
			}
			return fmt.Errorf("app %q: writing %s: %w", p.App.Name, t.url, err)
		}
	}
	return nil
}

// Validator is implemented by stores that can say, without a call, whether
// they can hold the given content (an ECS env file cannot hold empty values
// or line breaks). Errors wrap ErrUnrepresentable and name every key.
type Validator interface {
	Validate(vars map[string]string) error
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// CountByClass counts the entries of each class.
func (p *AppPlan) CountByClass() map[Class]int { return CountClasses(p.Entries) }

// CountClasses counts entries by class; every class is present.
func CountClasses(entries []Entry) map[Class]int {
	counts := make(map[Class]int, len(Classes))
	for _, c := range Classes {
		counts[c] = 0
	}
	for _, e := range entries {
		counts[e.Class]++
	}
	return counts
}

// Store returns the opened store of a route URL, or nil.
func (p *AppPlan) Store(url string) Store {
	for _, t := range p.targets {
		if t.url == url {
			return t.store
		}
	}
	return nil
}

// Snapshot returns what the store of a route URL held when planned, or nil.
func (p *AppPlan) Snapshot(url string) *Snapshot {
	for _, t := range p.targets {
		if t.url == url {
			return t.base
		}
	}
	return nil
}

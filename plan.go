package envsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

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
	Store  string
	Class  Class
	Key    string
	Action Action
	// Old and New are the values before and after; "" when absent. Never
	// print them directly: use Show (text) or Mask (JSON), the display rule.
	Old string
	New string
	// Sensitive changes carry values the display rule hides.
	Sensitive bool
	Addon     string
	// Prov says who last changed the key in the store, when the store keeps
	// that (an S3 env file) and the key differs from the truth; else nil.
	Prov *Provenance
	// HeldWhy says why a held change is held, beyond Prov ("" when it sets the
	// key back to exactly what the flag change replaced).
	HeldWhy string
}

// Reverts reports whether making the change would undo a change made with
// envsync flags (see Provenance.Reverts).
func (c Change) Reverts() bool {
	return c.Prov.Reverts(c.New, c.Action != Delete && c.Action != Extra)
}

// Show renders one side of the change for text output, by the display rule:
// the value with control characters escaped, or for a sensitive change
// "(sensitive) sha256:…" so two runs can be compared.
func (c Change) Show(value string) string { return Show(c.Key, value, c.Sensitive) }

// Mask renders one side of the change for JSON output, by the display rule.
func (c Change) Mask(value string) string { return Mask(c.Key, value, c.Sensitive) }

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
	Prune bool
	// OverwriteFlags writes the source's value over a change made with
	// envsync flags; without it such a change is held (AppPlan.Held).
	OverwriteFlags bool
	Logger         *slog.Logger
}

// AppPlan is what it takes to make an app's stores match its source.
type AppPlan struct {
	App     *App
	Entries []Entry
	// Changes are the writes to make (add, update, and delete with Prune).
	Changes []Change
	// Extra are keys found only in a store, left alone (without Prune).
	Extra []Change
	// Held are changes that would undo a change made with envsync flags
	// (each with its Prov): not written unless Engine.OverwriteFlags.
	Held []Change
	// Unrouted are the classes that have variables but no route.
	Unrouted map[Class]int
	// Exposed are the keys whose value looks like a credential and sits in
	// a store that keeps plain text (an S3 env file, tfvars, a local env
	// file): notes that say where, never the value (see Exposures).
	Exposed []string

	targets   []*target
	cl        Classifier
	validated bool
}

// exposures finds credentials sitting in plain text: in every store that
// no secret route writes (an S3 env file, tfvars, a file: env file of
// flags), each key the classifier calls secret by its name or
// its value (a token pasted into an env file by hand). The import never puts
// one there; the note says where it is and how to get it out.
func exposures(cl Classifier, targets []*target) []string {
	var out []string
	for _, t := range targets {
		if t.sensitive { // a secret route: the store is made for secrets
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(t.base.Vars)) {
			v := t.base.Vars[k]
			if !Sensitive(cl, "", k, v) { // the display rule: by the key's name or the value's shape
				continue
			}
			out = append(out, fmt.Sprintf("%s in %s looks like a credential, in plain text (%s): move it to Secrets Manager (set it at the source, where envsync routes it as a secret) and remove it from %s",
				ShowKey(k), t.url, Show(k, v, true), t.url))
		}
	}
	return out
}

// sensitive reports whether a value found in a store must not be shown:
// it sits in a store that holds secrets, or it looks like one itself (a
// token someone pasted into an env file by hand).
func (p *AppPlan) sensitive(holdsSecrets bool, key, value string) bool {
	return holdsSecrets || Sensitive(p.cl, "", key, value)
}

// target is one store a plan writes.
type target struct {
	url       string
	classes   []Class
	store     Store
	base      *Snapshot
	want      map[string]string
	classOf   map[string]Class // key → class, for the keys routed here
	sensitive bool
	changes   []Change
	// kept are keys found only in the store and left there (no --prune).
	kept map[string]bool
}

// applyOrder is the order stores are written in: secrets first, then
// tfvars-style config, then feature flags, so nothing ever points at a
// secret that does not exist yet.
var applyOrder = []Class{Secret, Static, Dynamic, Feature}

// Plan reads the app's source, classifies it, reads every routed store and
// computes the changes. It writes nothing. A route that would put a secret
// in a plain-text store is refused with ErrSecretRoute before any read.
func (e *Engine) Plan(ctx context.Context, cfg *Config, app *App) (*AppPlan, error) {
	return e.plan(ctx, cfg, app, false)
}

// plan is Plan; attributeExtra also finds who wrote the keys only in the
// feature store (drift names them).
func (e *Engine) plan(ctx context.Context, cfg *Config, app *App, attributeExtra bool) (*AppPlan, error) {
	if app.CutOver() {
		return nil, refuseCutOver(cfg, app)
	}
	opts := e.Open
	opts.BaseDir = cfg.Dir
	targets, err := openTargets(ctx, app, opts)
	if err != nil {
		return nil, err
	}
	if err := cfg.checkOverlaps(ctx, opts, e.Prune); err != nil {
		return nil, err
	}
	src, err := OpenSource(ctx, app.Source, opts)
	if err != nil {
		return nil, fmt.Errorf("app %q: source: %w", app.Name, err)
	}
	srcSnap, err := readAll(ctx, src, targets)
	if err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	p := &AppPlan{App: app, cl: e.Classifier, Entries: ClassifyVars(srcSnap, e.Classifier), Unrouted: map[Class]int{}, targets: targets}
	p.Exposed = exposures(e.Classifier, targets)
	p.route()
	log := e.logger().With("app", app.Name)
	for _, t := range targets {
		p.diff(t, e.Prune)
		if err := p.hold(ctx, t, src, e.OverwriteFlags, attributeExtra); err != nil {
			return nil, fmt.Errorf("app %q: %w", app.Name, err)
		}
		p.Changes = append(p.Changes, t.changes...)
		log.Debug("planned store", "store", t.url, "classes", t.classes, "keys", len(t.classOf), "changes", len(t.changes), "exists", t.base.Exists)
	}
	return p, nil
}

// openTargets opens every routed store, in apply order, one target per URL:
// bad URLs and secret routes fail before any call.
func openTargets(ctx context.Context, app *App, opts OpenOptions) ([]*target, error) {
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
			if so, ok := st.(SourceOnly); ok && so.SourceOnly() {
				return nil, WithHint(fmt.Errorf("app %q: routes: %s → %s: %w: it is a source; envsync never writes or deletes there", app.Name, class, url, ErrInvalid),
					"route the class to s3://, tfvars:, secretsmanager:// or file:, and keep heroku:// as the app's source")
			}
			t = &target{url: url, store: st, classOf: map[string]Class{}}
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
	return targets, nil
}

// readAll reads the source and every target at once.
func readAll(ctx context.Context, src Source, targets []*target) (*Snapshot, error) {
	var srcSnap *Snapshot
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if src == nil { // a cut-over app: the stores alone
			return nil
		}
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
		return nil, err
	}
	return srcSnap, nil
}

// route sends each classified entry to its class's store: the targets'
// wanted content, and the count of classes without a route.
func (p *AppPlan) route() {
	byURL := map[string]*target{}
	for _, t := range p.targets {
		byURL[t.url] = t
		t.want = map[string]string{}
	}
	for i := range p.Entries {
		en := &p.Entries[i]
		if en.Class == Ignore {
			continue
		}
		url, ok := p.App.Routes[en.Class]
		if !ok {
			p.Unrouted[en.Class]++
			continue
		}
		en.Route = url
		t := byURL[url]
		t.want[en.Name] = en.Value
		t.classOf[en.Name] = en.Class
	}
}

// diff compares a target's content with what the source wants there: adds
// and updates, and keys only in the store — deleted with prune, else left
// alone and reported as Extra.
func (p *AppPlan) diff(t *target, prune bool) {
	addon := map[string]string{}
	for _, en := range p.Entries {
		if en.Addon != "" {
			addon[en.Name] = en.Addon
		}
	}
	for _, ch := range Diff(t.base.Vars, t.want) {
		ch.Store = t.url
		switch ch.Action {
		case Delete:
			ch.Class = t.classes[0]
			ch.Sensitive = p.sensitive(t.sensitive, ch.Key, ch.Old)
			if !prune {
				ch.Action = Extra
				t.want[ch.Key] = ch.Old // left alone
				if t.kept == nil {
					t.kept = map[string]bool{}
				}
				t.kept[ch.Key] = true
				p.Extra = append(p.Extra, ch)
				continue
			}
		case Update:
			ch.Class, ch.Addon = t.classOf[ch.Key], addon[ch.Key]
			ch.Sensitive = ch.Class == Secret || p.sensitive(false, ch.Key, ch.Old)
		case Add:
			ch.Class, ch.Addon = t.classOf[ch.Key], addon[ch.Key]
			ch.Sensitive = ch.Class == Secret
		}
		t.changes = append(t.changes, ch)
	}
}

// hold finds who last changed each key where the feature store differs
// from the source (only then: a plan without changes reads nothing more),
// and, unless overwrite, holds back every change over a change made with
// envsync flags: one that sets the key back to what the flag change
// replaced, and one whose source value is not known to be newer than the
// flag change (asked of the source's change log, when it has one, only
// for those keys).
func (p *AppPlan) hold(ctx context.Context, t *target, src Source, overwrite, attributeExtra bool) error {
	if !slices.Contains(t.classes, Feature) {
		return nil
	}
	var keys []string
	for _, ch := range t.changes {
		keys = append(keys, ch.Key)
	}
	if attributeExtra {
		for _, ch := range p.Extra {
			if ch.Store == t.url {
				keys = append(keys, ch.Key)
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	provs, err := Provenances(ctx, t.store, t.base, keys)
	if err != nil {
		return err
	}
	for i := range p.Extra {
		if p.Extra[i].Store == t.url {
			p.Extra[i].Prov = provs[p.Extra[i].Key]
		}
	}
	var unsure []string // flag changes the source's value differs from
	for i := range t.changes {
		ch := &t.changes[i]
		ch.Prov = provs[ch.Key]
		if !overwrite && ch.Prov.FromFlags() && !ch.Reverts() {
			unsure = append(unsure, ch.Key)
		}
	}
	changed := map[string]time.Time{}
	logErr := error(nil)
	if cl, ok := src.(ChangeLog); ok && len(unsure) > 0 {
		changed, logErr = cl.LastChanged(ctx, unsure)
	}
	kept := t.changes[:0]
	for _, ch := range t.changes {
		switch {
		case overwrite || !ch.Prov.FromFlags():
			kept = append(kept, ch)
			continue
		case ch.Reverts():
		case sourceNewer(changed[ch.Key], ch.Prov):
			kept = append(kept, ch) // the source changed it since: its value wins
			continue
		case logErr != nil:
			ch.HeldWhy = sourceDiffers(ch) + ", but its change log could not be read: " + logErr.Error()
		case !changed[ch.Key].IsZero():
			ch.HeldWhy = sourceDiffers(ch) + ", but it last changed at " + changed[ch.Key].UTC().Format(time.RFC3339) + ", not after the flag change"
		default:
			ch.HeldWhy = sourceDiffers(ch) + ", but envsync cannot tell that it is newer"
		}
		if v, ok := t.base.Vars[ch.Key]; ok {
			t.want[ch.Key] = v
		} else {
			delete(t.want, ch.Key)
		}
		p.Held = append(p.Held, ch)
	}
	t.changes = kept
	return nil
}

// sourceDiffers says how the source differs from what a flag change
// replaced, for a held change's reason.
func sourceDiffers(ch Change) string {
	if ch.Action == Delete {
		return "the source does not have the key either"
	}
	return "the source's value differs too"
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
				errs = append(errs, WithHint(fmt.Errorf("app %q: %w", p.App.Name, err), p.validateHint(t, err)))
			}
		}
	}
	p.validated = len(errs) == 0
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return WithHint(errors.Join(errs...), Hint(errs[0]))
}

// validateHint says where to fix a value a store cannot carry: at the source,
// or, when every bad key is only in the store (kept because there is no
// --prune), in the store itself.
func (p *AppPlan) validateHint(t *target, err error) string {
	atSource := "fix these values at the source (or route the class elsewhere); nothing was written"
	var ue *UnrepresentableError
	if !errors.As(err, &ue) || len(ue.Problems) == 0 {
		return atSource
	}
	if k := ue.Problems[0].Key; k != "(all keys)" {
		atSource = fmt.Sprintf("fix the value(s) at the source %s, or leave the key(s) behind: overrides: {%s: ignore} in your rules file (rules: in the config); nothing was written", p.App.Source, k)
	}
	for _, pr := range ue.Problems {
		if !t.kept[pr.Key] {
			return atSource
		}
	}
	return "those values are only in " + t.url + " (set there by hand), not in the source: fix or remove them there, or run with --prune to delete them; nothing was written"
}

// Apply validates the plan (unless Validate already passed), then writes each store that has changes:
// secrets first, then static and dynamic config, then feature flags. A store
// without changes gets no call at all.
func (e *Engine) Apply(ctx context.Context, p *AppPlan, meta map[string]string) error {
	if !p.validated {
		if err := p.Validate(); err != nil {
			return err
		}
	}
	log := e.logger().With("app", p.App.Name)
	for _, t := range p.targets {
		if len(t.changes) == 0 {
			continue
		}
		log.Debug("writing store", "store", t.url, "changes", len(t.changes))
		err := t.store.Write(ctx, &WriteRequest{Base: t.base, Vars: t.want, Sensitive: t.sensitive, Meta: meta})
		if errors.Is(err, ErrConflict) {
			// Another writer got there first. When it wrote exactly what
			// this plan wants — an app that shares the store and its source
			// (a web and a worker service of one Heroku app), or an earlier
			// run — the store is where the plan would take it: done.
			if cur, rerr := t.store.Read(ctx); rerr == nil && Unchanged(cur, t.want) {
				log.Debug("store already holds the plan's content", "store", t.url)
				err = nil
			}
		}
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

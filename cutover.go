package envsync

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// storesPlan is the drift check of a cut-over app, whose stores are the
// truth: nothing reads the source. The feature store is compared with its
// reviewed copy (the app's flags_file): a key changed there with envsync
// flags that the reviewed copy does not carry yet is a note (commit it),
// any other difference — a hand edit, a reviewed change never applied — is
// drift, with who last changed the key. The plan returned wants what each
// store holds and has the stores' content as its entries, so the running
// service is compared with the stores (parity), not with the source.
func (e *Engine) storesPlan(ctx context.Context, cfg *Config, app *App, d *AppDrift) (*AppPlan, error) {
	opts := e.Open
	opts.BaseDir = cfg.Dir
	targets, err := openTargets(ctx, app, opts)
	if err != nil {
		return nil, err
	}
	if _, err := readAll(ctx, nil, targets); err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	p := &AppPlan{App: app, cl: e.Classifier, Unrouted: map[Class]int{}, targets: targets}
	p.Exposed = exposures(e.Classifier, targets)
	var feature *target
	for _, t := range targets {
		t.want = maps.Clone(t.base.Vars)
		for k := range t.want {
			t.classOf[k] = t.classes[0]
		}
		if t.url == app.Routes[Feature] {
			feature = t
		}
	}
	// What the running service must see is what the stores hold.
	for _, t := range targets {
		for _, k := range slices.Sorted(maps.Keys(t.base.Vars)) {
			p.Entries = append(p.Entries, Entry{Var: Var{Name: k, Value: t.base.Vars[k]}, Decision: Decision{Class: t.classes[0], Rule: "store", Reason: "held by " + t.url}, Route: t.url})
		}
	}
	if feature == nil || d == nil { // d is nil for parity alone
		return p, nil
	}
	if app.FlagsFile == "" {
		if !feature.base.Exists {
			return p, nil
		}
		d.Notes = append(d.Notes, fmt.Sprintf("%s is the only copy of the flags (the app has no flags_file to review it in git)", feature.url))
		return p, e.handEdits(ctx, p, feature, d)
	}
	name := app.FlagsFile
	if rel, err := filepath.Rel(cfg.Dir, name); err == nil {
		name = rel
	}
	data, err := os.ReadFile(app.FlagsFile)
	if err != nil {
		return nil, WithHint(fmt.Errorf("app %q: flags_file: %w", app.Name, err), "commit the reviewed copy of "+feature.url+" (envsync flags list > FILE), or remove flags_file:")
	}
	reviewed, err := ParseEnvFile(name, data)
	if err != nil {
		return nil, err
	}
	chs := Diff(feature.base.Vars, reviewed) // Old: what S3 holds, New: the reviewed copy
	keys := make([]string, len(chs))
	for i, ch := range chs {
		keys[i] = ch.Key
	}
	provs, err := Provenances(ctx, feature.store, feature.base, keys)
	if err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	for _, ch := range chs {
		ch.Store, ch.Class, ch.Prov = feature.url, Feature, provs[ch.Key]
		if ch.Action == Delete {
			ch.Action = Extra // only in the store
		}
		if ch.Reverts() {
			d.Notes = append(d.Notes, fmt.Sprintf("%s in %s was %s, and %s does not have it yet: commit it to %s",
				ch.Key, feature.url, ch.Prov, name, name))
			continue
		}
		p.Changes = append(p.Changes, ch)
	}
	MarkSensitive(e.Classifier, p.Changes)
	return p, nil
}

// handEdits is the drift of a cut-over feature file with no reviewed copy:
// with nothing to compare against, what drift can still see is a write
// made without envsync (no envsync metadata on the newest version). Only
// then are the versions walked, to name each key changed by hand — a run
// with nothing to report reads nothing more.
func (e *Engine) handEdits(ctx context.Context, p *AppPlan, feature *target, d *AppDrift) error {
	if w, _ := writerOf(feature.base.Meta); w != WriterHand {
		return nil
	}
	keys := slices.Sorted(maps.Keys(feature.base.Vars))
	provs, err := Provenances(ctx, feature.store, feature.base, keys)
	if err != nil {
		return fmt.Errorf("app %q: %w", p.App.Name, err)
	}
	found := false
	for _, k := range keys {
		pr := provs[k]
		if pr == nil || pr.Writer != WriterHand {
			continue
		}
		found = true
		// Old: what the store holds now; New: what it held before the hand edit.
		ch := Change{Store: feature.url, Class: Feature, Key: k, Action: Update, Old: feature.base.Vars[k], New: pr.Before, Prov: pr}
		if !pr.Had {
			ch.Action, ch.New = Extra, ""
		}
		p.Changes = append(p.Changes, ch)
	}
	if !found {
		d.Notes = append(d.Notes, fmt.Sprintf("%s was last written without envsync (by hand), and its history does not say which keys changed (versioning off, or further back than %d versions): review it", feature.url, ProvenanceDepth))
	}
	MarkSensitive(e.Classifier, p.Changes)
	return nil
}

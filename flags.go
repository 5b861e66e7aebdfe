package envsync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Flags is an app's feature env file seen as feature flags: the rules of a
// flag change (env-file format, class feature), masked reads, edits, a
// reviewed file (PlanReviewed: held reverts, --prune) and rollbacks through
// the one conditional, retrying ApplyEdit, and the history of a versioned
// store.
type Flags struct {
	URL        string
	Store      Store
	Classifier Classifier
}

// OpenFlags opens the feature route of app. It makes no call.
func OpenFlags(ctx context.Context, cfg *Config, app *App, cl Classifier, opts OpenOptions) (*Flags, error) {
	url, ok := app.Routes[Feature]
	if !ok {
		return nil, WithHint(fmt.Errorf("app %q has no feature route", app.Name), "add routes: {feature: s3://BUCKET/KEY.env} to the config")
	}
	opts.BaseDir = cfg.Dir
	st, err := Open(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	return &Flags{URL: url, Store: st, Classifier: cl}, nil
}

// Check refuses a key that cannot be a feature flag here: a name or value
// an env file cannot carry, or a class other than feature (the value counts:
// a token under a flag's name is secret). The error names the key, its class
// and the reason, never the value. An empty value is allowed (an unset).
func (f *Flags) Check(key, value string) error {
	if r := CheckEnvKey(key); r != "" {
		return fmt.Errorf("%s: %s", key, r)
	}
	if r := CheckEnvValue(value); r != "" && value != "" {
		return fmt.Errorf("%s: %s", key, r)
	}
	if QuotedValue(value) {
		return WithHint(fmt.Errorf("%s: the value is quoted: ECS keeps the quotes as part of the value", key),
			"give the value without quotes, e.g. envsync flags set '"+key+"=on' (the shell removes its own quotes)")
	}
	d := f.Classifier.Classify(Var{Name: key, Value: value})
	if d.Class != Feature {
		err := fmt.Errorf("%s is %s, not a feature flag (%s [%s]); only feature flags can be changed here", key, d.Class, d.Reason, d.Rule)
		hint := "change it through envsync import (it belongs in " + string(d.Class) + ")"
		if d.Class == Secret {
			hint = "secrets belong in Secrets Manager: change it at the source and run envsync import"
		}
		return WithHint(err, hint)
	}
	return nil
}

// CheckAll checks every key of vars, in key order; the error says nothing
// was written and lists every refused key.
func (f *Flags) CheckAll(vars map[string]string) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if err := f.Check(k, vars[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return refused(errs)
}

func refused(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	err := errors.Join(errs...)
	if len(errs) == 1 {
		err = errs[0]
	}
	return WithHint(fmt.Errorf("nothing written: %w", err), Hint(errs[0]))
}

// Mask returns vars with every value the display rule hides replaced by
// "(sensitive) sha256:…": flags are shown, secrets never.
func (f *Flags) Mask(vars map[string]string) map[string]string {
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		out[k] = Mask(k, v, Sensitive(f.Classifier, Feature, k, v))
	}
	return out
}

// Read reads the flags, masked.
func (f *Flags) Read(ctx context.Context) (*Snapshot, error) {
	snap, err := f.Store.Read(ctx)
	if err != nil {
		return nil, err
	}
	snap.Vars = f.Mask(snap.Vars)
	return snap, nil
}

// Diff is the change from old to new in the flags file, each change marked
// sensitive by the display rule.
func (f *Flags) Diff(old, new map[string]string) []Change {
	chs := Diff(old, new)
	for i := range chs {
		chs[i].Store, chs[i].Class = f.URL, Feature
	}
	MarkSensitive(f.Classifier, chs)
	return chs
}

// FlagsResult says what a flag change did.
type FlagsResult struct {
	// Changes is what was written (none when the store already held it).
	Changes []Change
	Changed bool
	// Retries counts concurrent writes resolved by re-reading.
	Retries int
	// NotSet lists keys to unset that were not there.
	NotSet []string
}

// FlagsMeta is what a flag change keeps with the new version: who, why, the
// envsync version and the keys it names.
func FlagsMeta(command, who, why string, keys []string) map[string]string {
	return map[string]string{
		MetaBy: who, MetaReason: why, MetaVersion: Version,
		MetaKeys: strings.Join(keys, ","), MetaCommand: command,
	}
}

// ImportMeta is what an import keeps with the versions it writes.
func ImportMeta(who string) map[string]string {
	return map[string]string{MetaBy: who, MetaReason: "envsync import", MetaVersion: Version, MetaCommand: "import"}
}

// Edit sets and unsets some flags, leaving every other key alone. Every key
// is checked first (a key to unset by the value it has), and nothing is
// written when one is refused.
func (f *Flags) Edit(ctx context.Context, set map[string]string, unset []string, who, why string) (*FlagsResult, error) {
	var errs []error
	keys := slices.Sorted(maps.Keys(set))
	for _, k := range keys {
		if err := f.Check(k, set[k]); err != nil {
			errs = append(errs, err)
		}
	}
	res := &FlagsResult{}
	if len(unset) > 0 {
		cur, err := f.Store.Read(ctx)
		if err != nil {
			return nil, err
		}
		// Removing a key writes no value, so any key may go, whatever its
		// class: it is how a credential pasted into the env file by hand, or
		// a key that belongs in tfvars, is taken out of it.
		for _, k := range unset {
			keys = append(keys, k)
			if _, ok := cur.Vars[k]; !ok {
				res.NotSet = append(res.NotSet, k)
			}
		}
	}
	if err := refused(errs); err != nil {
		return nil, err
	}
	cmd := "flags set"
	if len(set) == 0 {
		cmd = "flags unset"
	}
	return f.apply(ctx, Edit{Set: set, Unset: unset, Meta: FlagsMeta(cmd, who, why, keys)}, res)
}

func (f *Flags) apply(ctx context.Context, e Edit, res *FlagsResult) (*FlagsResult, error) {
	r, err := ApplyEdit(ctx, f.Store, e)
	if err != nil {
		return nil, err
	}
	res.Changed, res.Retries = r.Changed, r.Retries
	if r.Changed {
		res.Changes = f.Diff(r.Before.Vars, r.After.Vars)
	}
	return res, nil
}

// FlagsVersion is one version of the flags file, with what changed from
// the version before it (sensitive changes marked).
type FlagsVersion struct {
	ID      string
	When    time.Time
	Who     string
	Why     string
	Deleted bool
	Changes []Change
}

// versioned returns the store's history interface, or an error saying it
// keeps none.
func (f *Flags) versioned() (Versioned, error) {
	vs, ok := f.Store.(Versioned)
	if !ok {
		return nil, fmt.Errorf("%s keeps no history (only s3:// env files in a versioned bucket do)", f.URL)
	}
	return vs, nil
}

// History returns at most limit versions, newest first, and whether the
// store keeps versions at all.
func (f *Flags) History(ctx context.Context, limit int) ([]FlagsVersion, bool, error) {
	vs, err := f.versioned()
	if err != nil {
		return nil, false, err
	}
	versions, enabled, err := vs.Versions(ctx)
	if err != nil {
		return nil, enabled, err
	}
	if len(versions) > limit+1 {
		versions = versions[:limit+1] // one more, to diff the oldest shown
	}
	snaps := make([]*Snapshot, len(versions))
	for i, v := range versions {
		if v.Deleted {
			snaps[i] = EmptySnapshot()
			continue
		}
		if snaps[i], err = vs.ReadVersion(ctx, v.ID); err != nil {
			return nil, enabled, err
		}
	}
	var out []FlagsVersion
	for i, v := range versions {
		if i == limit {
			break
		}
		prev := EmptySnapshot()
		if i+1 < len(snaps) {
			prev = snaps[i+1]
		}
		e := FlagsVersion{ID: v.ID, When: v.Modified, Who: snaps[i].Meta["envsync-by"], Why: snaps[i].Meta["envsync-reason"], Deleted: v.Deleted,
			Changes: f.Diff(prev.Vars, snaps[i].Vars)}
		if v.Deleted {
			e.Why = "(deleted)"
		}
		out = append(out, e)
	}
	return out, enabled, nil
}

// Rollback is a prepared rollback: the version's content, and what writing
// it would change (sensitive changes marked).
type Rollback struct {
	To      string
	Vars    map[string]string
	Changes []Change
	base    *Snapshot // the current content the changes were computed from
}

// PrepareRollback reads version to (default: the one before the current)
// and says what writing it back would change. A version holding a key that
// is not a feature flag is refused here, before anything is shown or
// written.
func (f *Flags) PrepareRollback(ctx context.Context, to string) (*Rollback, error) {
	vs, err := f.versioned()
	if err != nil {
		return nil, err
	}
	versions, _, err := vs.Versions(ctx)
	if err != nil {
		return nil, err
	}
	if to == "" {
		if len(versions) < 2 {
			return nil, fmt.Errorf("%s has no earlier version to roll back to", f.URL)
		}
		to = versions[1].ID
	}
	if !slices.ContainsFunc(versions, func(v ObjectVersion) bool { return v.ID == to && !v.Deleted }) {
		return nil, WithHint(fmt.Errorf("%s: no version %q", f.URL, to), "envsync flags history lists them")
	}
	old, err := vs.ReadVersion(ctx, to)
	if err != nil {
		return nil, err
	}
	if err := f.CheckAll(old.Vars); err != nil {
		return nil, fmt.Errorf("version %s: %w", to, err)
	}
	cur, err := f.Store.Read(ctx)
	if err != nil {
		return nil, err
	}
	return &Rollback{To: to, Vars: old.Vars, Changes: f.Diff(cur.Vars, old.Vars), base: cur}, nil
}

// Rollback writes a prepared rollback's content as a new version.
func (f *Flags) Rollback(ctx context.Context, rb *Rollback, who, why string) (*FlagsResult, error) {
	if err := f.CheckAll(rb.Vars); err != nil {
		return nil, err
	}
	e := Edit{Replace: rb.Vars, Base: rb.base, Meta: FlagsMeta("flags rollback", who, "rollback to "+rb.To+": "+why, slices.Sorted(maps.Keys(rb.Vars)))}
	return f.apply(ctx, e, &FlagsResult{})
}

// ReadReviewed reads a reviewed env file (the flags_file merged in git) for
// PlanReviewed: a file with lint errors is refused, with the findings, because
// ECS would read it differently from what the reviewer saw.
func ReadReviewed(name string, data []byte) (map[string]string, []Finding, error) {
	if findings := LintEnvFile(name, data); HasErrors(findings) {
		return nil, findings, WithHint(fmt.Errorf("%s: not a clean ECS env file; nothing written", name), "run envsync check "+name)
	}
	vars, err := ParseEnvFile(name, data)
	return vars, nil, err
}

// WritesSource reports whether a flag change of app is also made on its
// source: while the app is migrating and its source is a Heroku app, which
// is then the truth (import and drift compare the S3 file with it).
func WritesSource(app *App) bool {
	return !app.CutOver() && strings.HasPrefix(app.Source, "heroku://")
}

// CanEditSource says, before any write, why a flag change cannot be made on
// the app's source too, or nil when it can.
func CanEditSource(app *App) error {
	if app.CutOver() {
		return WithHint(fmt.Errorf("app %q %w: its source is not written any more", app.Name, ErrCutOver), "drop --heroku: the S3 env file is the truth now")
	}
	if !strings.HasPrefix(app.Source, "heroku://") {
		return WithHint(fmt.Errorf("--heroku: the source %s is not a Heroku app; nothing written", app.Source), "set source: heroku://APP in the config, or leave out --heroku")
	}
	return nil
}

// CheckSourceWritable says, before any write, whether a flag change can be
// made on the app's source too: CanEditSource, and the source's own
// preflight (a Heroku API token is configured).
func CheckSourceWritable(ctx context.Context, cfg *Config, app *App, opts OpenOptions) error {
	if err := CanEditSource(app); err != nil {
		return err
	}
	opts.BaseDir = cfg.Dir
	st, err := Open(ctx, app.Source, opts)
	if err != nil {
		return err
	}
	if err := Preflight(st); err != nil {
		return WithHint(fmt.Errorf("%s cannot be written: %w; nothing written", app.Source, err),
			Hint(err)+", or add --no-heroku to change only the env file")
	}
	return nil
}

// EditSource makes the same flag change on the app's Heroku source (flags
// set and unset while migrating). It reports whether it wrote anything.
func EditSource(ctx context.Context, cfg *Config, app *App, set map[string]string, unset []string, opts OpenOptions) (bool, error) {
	if err := CanEditSource(app); err != nil {
		return false, err
	}
	opts.BaseDir = cfg.Dir
	st, err := Open(ctx, app.Source, opts)
	if err != nil {
		return false, err
	}
	res, err := ApplyEdit(ctx, st, Edit{Set: set, Unset: unset})
	if err != nil {
		return false, WithHint(fmt.Errorf("the flags file was written, but %s was not: %w", app.Source, err),
			"run the same flags command again (it writes only what is missing); until then import holds the S3 value and drift reports it")
	}
	return res.Changed, nil
}

// FlagsFileApp returns the app whose flags_file is the file at abs, or nil.
func FlagsFileApp(cfg *Config, abs string) *App {
	if cfg == nil {
		return nil
	}
	for _, app := range cfg.Apps {
		if app.FlagsFile == abs {
			return app
		}
	}
	return nil
}

// Reviewed is what writing a reviewed env file (flags apply) would do.
type Reviewed struct {
	// Changes are what will be written.
	Changes []Change
	// Held would undo a change made with envsync flags that the file does
	// not carry (each with its Prov, and HeldWhy naming an earlier flag
	// change it would undo too): written only with overwrite.
	Held []Change
	// Extra are keys only in the store: deleted only with prune.
	Extra []Change
	set   map[string]string
	unset []string
	base  *Snapshot
}

// PlanReviewed says what writing the reviewed content vars would change:
// keys only in the store are left alone unless prune (like import), and a
// key whose store value was written by envsync flags and that vars would
// set back to any value it had before those flag changes (Reverts) is held
// unless overwrite. Every key of vars must be a feature flag. It is the one
// plan of flags apply, and check shows it for a pull request.
func (f *Flags) PlanReviewed(ctx context.Context, vars map[string]string, prune, overwrite bool) (*Reviewed, error) {
	if err := f.CheckAll(vars); err != nil {
		return nil, err
	}
	cur, err := f.Store.Read(ctx)
	if err != nil {
		return nil, err
	}
	r := &Reviewed{set: map[string]string{}, base: cur}
	chs, err := f.attribute(ctx, cur, vars)
	if err != nil {
		return nil, err
	}
	for _, ch := range chs {
		switch {
		case ch.Action == Delete && !prune:
			ch.Action = Extra
			r.Extra = append(r.Extra, ch)
		case !overwrite && ch.Reverts():
			ch.HeldWhy = ch.Prov.RevertNote(ch.New, ch.Action != Delete)
			r.Held = append(r.Held, ch)
		case ch.Action == Delete:
			r.unset = append(r.unset, ch.Key)
			r.Changes = append(r.Changes, ch)
		default:
			r.set[ch.Key] = ch.New
			r.Changes = append(r.Changes, ch)
		}
	}
	return r, nil
}

// WriteReviewed writes a planned reviewed file: its changes only, through
// the conditional, retrying edit.
func (f *Flags) WriteReviewed(ctx context.Context, r *Reviewed, who, why string) (*FlagsResult, error) {
	keys := slices.Sorted(maps.Keys(r.set))
	keys = append(keys, r.unset...)
	return f.apply(ctx, Edit{Set: r.set, Unset: r.unset, Base: r.base, Meta: FlagsMeta("flags apply", who, why, keys)}, &FlagsResult{})
}

// attribute diffs the store's content cur with vars (Old: the store's, New:
// vars'), marks sensitive changes, and says who last changed each
// differing key in the store.
func (f *Flags) attribute(ctx context.Context, cur *Snapshot, vars map[string]string) ([]Change, error) {
	chs := f.Diff(cur.Vars, vars)
	keys := make([]string, len(chs))
	for i, ch := range chs {
		keys[i] = ch.Key
	}
	provs, err := Provenances(ctx, f.Store, cur, keys)
	if err != nil {
		return nil, err
	}
	for i := range chs {
		chs[i].Prov = provs[chs[i].Key]
	}
	return chs, nil
}

// CheckRevertsFlag is the check code of an env file that would undo a
// change made with envsync flags (a warning: the flags apply after the
// merge holds such a key unless --overwrite-flags).
const CheckRevertsFlag = "FLG001"

// RevertFindings is check's finding for each held change of PlanReviewed
// (a change that would undo a change made with envsync flags that the env
// file data, named name, does not carry): which key, who changed it, when
// and why — never a value.
func (f *Flags) RevertFindings(name string, data []byte, held []Change) []Finding {
	_, line := loadedLines(data)
	var out []Finding
	for _, ch := range held {
		what := "sets it back to the value it replaced"
		switch {
		case ch.HeldWhy != "":
			what = "sets it back to a value it had before (" + ch.HeldWhy + ")"
		case ch.Action == Add:
			what = "brings back the key it removed"
		case ch.Action == Delete:
			what = "does not carry the key"
		}
		out = append(out, Finding{File: name, Line: max(line[ch.Key], 1), Code: CheckRevertsFlag, Severity: SevWarning, Key: ch.Key,
			Message: fmt.Sprintf("%s in %s was %s; this file %s, so merging it would revert the live flag: carry the live value here (envsync flags get %s), or revert it on purpose with envsync flags apply --overwrite-flags",
				ch.Key, f.URL, ch.Prov, what, ch.Key)})
	}
	return out
}

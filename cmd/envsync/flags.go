package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/classify"
	"github.com/envsync/envsync/sinks/ecs"
)

func flagsCommand() *cli.Command {
	reason := &cli.StringFlag{Name: "reason", Aliases: []string{"m"}, EnvVars: []string{"ENVSYNC_REASON"}, Usage: "why (kept with the change, shown by history)"}
	restart := []cli.Flag{
		&cli.BoolFlag{Name: "restart", EnvVars: []string{"ENVSYNC_RESTART"}, Usage: "roll the app's ECS service (restart: in the config) so tasks read the new file"},
		&cli.BoolFlag{Name: "wait", Usage: "with --restart: follow the deployment until it is stable"},
		&cli.DurationFlag{Name: "wait-timeout", Value: 15 * time.Minute, Usage: "give up waiting after this long"},
	}
	common := func(more ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{appFlag(), rulesFlag(), formatFlag()}, more...)
	}
	write := func(more ...cli.Flag) []cli.Flag { return slices.Concat([]cli.Flag{reason}, restart, more) }
	return &cli.Command{
		Name:  "flags",
		Usage: "change feature flags in seconds: write the app's S3 env file and roll the service, no image build",
		Description: `Works on the app's feature route (an ECS env file in S3). Only variables the
classifier puts in "feature" can be changed here; anything else is refused,
naming the key and its class. Writes are conditional on what was read and
retried on a conflict, so concurrent changes of different keys never lose
each other. Who (GITHUB_ACTOR, else git user.email, else $USER), why and the
envsync version are stored with each version of the object.`,
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "print the flags", Flags: common(), Action: flagsList},
			{Name: "get", Usage: "print one flag's value", ArgsUsage: "KEY", Flags: common(), Action: flagsGet},
			{Name: "set", Usage: "set flags", ArgsUsage: "KEY=VALUE…", Flags: common(write(&cli.BoolFlag{Name: "heroku", Usage: "make the same change on the Heroku app (the config's source) while it still serves traffic"})...), Action: flagsSet},
			{Name: "unset", Usage: "remove flags", ArgsUsage: "KEY…", Flags: common(write(&cli.BoolFlag{Name: "heroku", Usage: "make the same change on the Heroku app too"})...), Action: flagsUnset},
			{Name: "history", Usage: "the file's versions, newest first: when, who, why, which keys changed", Flags: common(&cli.IntFlag{Name: "limit", Value: 20, Usage: "show at most this many versions"}), Action: flagsHistory},
			{Name: "rollback", Usage: "write an older version's content as a new version", Flags: common(write(&cli.StringFlag{Name: "to", Usage: "the version id (default: the one before the current)"}, &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "apply without asking"})...), Action: flagsRollback},
			{Name: "apply", Usage: "push a reviewed env file (the one merged in git), if it differs", Flags: common(write(&cli.StringFlag{Name: "from", Usage: "the env file (default: the app's flags_file)"})...), Action: flagsApply},
		},
	}
}

// flagsCtx is what every flags subcommand needs.
type flagsCtx struct {
	c     *cli.Context
	cfg   *envsync.Config
	app   *envsync.App
	url   string
	store envsync.Store
	cl    *classify.Classifier
	opts  envsync.OpenOptions
	calls *envsync.CallCounter
}

func openFlags(c *cli.Context) (*flagsCtx, error) {
	cfg, apps, err := loadApps(c)
	if err != nil {
		return nil, err
	}
	if len(apps) != 1 {
		return nil, usageError("the config has %d apps; pick one with --app (%s)", len(apps), strings.Join(cfg.AppNames(), ", "))
	}
	app := apps[0]
	url, ok := app.Routes[envsync.Feature]
	if !ok {
		return nil, envsync.WithHint(fmt.Errorf("app %q has no feature route", app.Name), "add routes: {feature: s3://BUCKET/KEY.env} to the config")
	}
	cl, err := loadClassifier(c, cfg)
	if err != nil {
		return nil, err
	}
	opts, counter := openOptions()
	opts.BaseDir = cfg.Dir
	st, err := envsync.Open(c.Context, url, opts)
	if err != nil {
		return nil, err
	}
	return &flagsCtx{c: c, cfg: cfg, app: app, url: url, store: st, cl: cl, opts: opts, calls: counter}, nil
}

// readFlags reads the app's flags, with any secret-looking value masked.
func readFlags(c *cli.Context) (*flagsCtx, *envsync.Snapshot, error) {
	f, err := openFlags(c)
	if err != nil {
		return nil, nil, err
	}
	snap, err := f.store.Read(c.Context)
	if err != nil {
		return nil, nil, err
	}
	f.mask(snap.Vars)
	return f, snap, nil
}

func flagsList(c *cli.Context) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	f, snap, err := readFlags(c)
	if err != nil {
		return err
	}
	w := c.App.Writer
	keys := slices.Sorted(maps.Keys(snap.Vars))
	switch format {
	case formatJSON:
		return writeJSON(w, map[string]any{"app": f.app.Name, "store": f.url, "flags": snap.Vars})
	case formatMarkdown:
		fmt.Fprintf(w, "| Flag | Value |\n|---|---|\n")
		for _, k := range keys {
			fmt.Fprintf(w, "| `%s` | `%s` |\n", mdEscape(k), mdEscape(snap.Vars[k]))
		}
	default:
		for _, k := range keys {
			fmt.Fprintf(w, "%s=%s\n", k, snap.Vars[k])
		}
	}
	return nil
}

func flagsGet(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("flags get takes one KEY")
	}
	f, snap, err := readFlags(c)
	if err != nil {
		return err
	}
	v, ok := snap.Vars[c.Args().First()]
	if !ok {
		return fmt.Errorf("%s: %q is not set: %w", f.url, c.Args().First(), envsync.ErrNotFound)
	}
	fmt.Fprintln(c.App.Writer, v)
	return nil
}

// mask hides, in place, any value in the flags file that the classifier
// calls secret (someone pasted a token by hand): flags are shown, secrets never.
func (f *flagsCtx) mask(vars map[string]string) {
	for k, v := range vars {
		if f.cl.Classify(envsync.Var{Name: k, Value: v}).Class == envsync.Secret {
			vars[k] = "(sensitive) " + envsync.Fingerprint(k, v)
		}
	}
}

// checkFlag refuses a key that is not a feature flag, naming its class and
// reason, never the value.
func (f *flagsCtx) checkFlag(key, value string) error {
	if r := envsync.CheckEnvKey(key); r != "" {
		return fmt.Errorf("%s: %s", key, r)
	}
	if r := envsync.CheckEnvValue(value); r != "" && value != "" {
		return fmt.Errorf("%s: %s", key, r)
	}
	d := f.cl.Classify(envsync.Var{Name: key, Value: value})
	if d.Class != envsync.Feature {
		err := fmt.Errorf("%s is %s, not a feature flag (%s [%s]); only feature flags can be changed here", key, d.Class, d.Reason, d.Rule)
		hint := "change it through envsync import (it belongs in " + string(d.Class) + ")"
		if d.Class == envsync.Secret {
			hint = "secrets belong in Secrets Manager: change it at the source and run envsync import"
		}
		return envsync.WithHint(err, hint)
	}
	return nil
}

func (f *flagsCtx) meta(reason string, keys []string) map[string]string {
	return map[string]string{
		"envsync-by": actor(), "envsync-reason": reason, "envsync-version": envsync.Version,
		"envsync-keys": strings.Join(keys, ","),
	}
}

// openFlagsForWrite is openFlags for a change, which must say why (--reason).
func openFlagsForWrite(c *cli.Context) (*flagsCtx, string, error) {
	reason := strings.TrimSpace(c.String("reason"))
	if reason == "" {
		return nil, "", usageError("say why with --reason TEXT (it is kept with the change)")
	}
	f, err := openFlags(c)
	return f, reason, err
}

func flagsSet(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageError("flags set takes KEY=VALUE arguments")
	}
	set := map[string]string{}
	for _, a := range c.Args().Slice() {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return usageError("%q: want KEY=VALUE", k)
		}
		if v == "" {
			return usageError("%s: an empty value is dropped by ECS; use flags unset %s", k, k)
		}
		set[k] = v
	}
	return flagsEdit(c, envsync.Edit{Set: set})
}

func flagsUnset(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageError("flags unset takes KEY arguments")
	}
	return flagsEdit(c, envsync.Edit{Unset: c.Args().Slice()})
}

func flagsEdit(c *cli.Context, e envsync.Edit) error {
	f, reason, err := openFlagsForWrite(c)
	if err != nil {
		return err
	}
	defer logCalls(c, f.calls)
	var errs []error
	keys := slices.Sorted(maps.Keys(e.Set))
	for _, k := range keys {
		if err := f.checkFlag(k, e.Set[k]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(e.Unset) > 0 {
		cur, err := f.store.Read(c.Context) // classify by the value being removed
		if err != nil {
			return err
		}
		for _, k := range e.Unset {
			keys = append(keys, k)
			v, ok := cur.Vars[k]
			if !ok {
				warnf(c, "%s is not set in %s", k, f.url)
				continue
			}
			if err := f.checkFlag(k, v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return refused(errs)
	}
	start := time.Now()
	e.Meta = f.meta(reason, keys)
	res, err := envsync.ApplyEdit(c.Context, f.store, e)
	if err != nil {
		return err
	}
	if !res.Changed {
		fmt.Fprintf(c.App.ErrWriter, "envsync: %s already has that; nothing written\n", f.url)
	} else {
		for _, k := range keys {
			old, had := res.Before.Vars[k]
			nv, has := res.After.Vars[k]
			switch {
			case !had && has:
				fmt.Fprintf(c.App.Writer, "+ %s = %s\n", k, nv)
			case had && !has:
				fmt.Fprintf(c.App.Writer, "- %s (was %s)\n", k, old)
			case old != nv:
				fmt.Fprintf(c.App.Writer, "~ %s: %s → %s\n", k, old, nv)
			}
		}
		fmt.Fprintf(c.App.ErrWriter, "envsync: wrote %s in %s", f.url, time.Since(start).Round(time.Millisecond))
		if res.Retries > 0 {
			fmt.Fprintf(c.App.ErrWriter, " (after %d concurrent change(s))", res.Retries)
		}
		fmt.Fprintln(c.App.ErrWriter)
	}
	if c.Bool("heroku") {
		if err := f.herokuEdit(e); err != nil {
			return err
		}
	}
	if res.Changed || c.Bool("restart") { // a requested restart is never skipped
		return f.restart()
	}
	return nil
}

func refused(errs []error) error {
	err := errors.Join(errs...)
	if len(errs) == 1 {
		err = errs[0]
	}
	return envsync.WithHint(fmt.Errorf("nothing written: %w", err), envsync.Hint(errs[0]))
}

func (f *flagsCtx) herokuEdit(e envsync.Edit) error {
	if !strings.HasPrefix(f.app.Source, "heroku://") {
		return envsync.WithHint(fmt.Errorf("--heroku: app %q's source is not a Heroku app", f.app.Name), "set source: heroku://APP in the config")
	}
	st, err := envsync.Open(f.c.Context, f.app.Source, f.opts)
	if err != nil {
		return err
	}
	res, err := envsync.ApplyEdit(f.c.Context, st, envsync.Edit{Set: e.Set, Unset: e.Unset})
	if err != nil {
		return fmt.Errorf("the S3 file was written, but Heroku was not: %w", err)
	}
	if res.Changed {
		fmt.Fprintf(f.c.App.ErrWriter, "envsync: changed %s too (Heroku restarts its dynos itself)\n", f.app.Source)
	}
	return nil
}

// restart rolls the ECS service with --restart.
func (f *flagsCtx) restart() error {
	c := f.c
	if !c.Bool("restart") {
		if f.app.Restart != "" {
			hintf(c, "running tasks read env files only when they start: add --restart to roll %s", f.app.Restart)
		}
		return nil
	}
	if f.app.Restart == "" {
		return envsync.WithHint(fmt.Errorf("--restart: app %q has no restart: service", f.app.Name), "add restart: ecs://CLUSTER/SERVICE to the app in the config")
	}
	svc, err := ecs.Open(c.Context, f.app.Restart, f.opts)
	if err != nil {
		return err
	}
	id, err := svc.Restart(c.Context)
	if err != nil {
		return fmt.Errorf("the file was written, but the restart failed: %w", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "envsync: restarting %s (deployment %s)\n", f.app.Restart, id)
	if !c.Bool("wait") {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("wait-timeout"))
	defer cancel()
	tty := isTerminal(c.App.ErrWriter)
	err = svc.Wait(ctx, id, 5*time.Second, func(p ecs.Progress) {
		if tty {
			fmt.Fprintf(c.App.ErrWriter, "\r\033[K%s", p)
		} else {
			fmt.Fprintln(c.App.ErrWriter, p)
		}
	})
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		cluster, service, _ := envsync.ParseECSURL(f.app.Restart)
		return envsync.WithHint(fmt.Errorf("%s was written and %s is restarting (deployment %s), but it was not stable within %s: %w", f.url, f.app.Restart, id, c.Duration("wait-timeout"), context.DeadlineExceeded),
			fmt.Sprintf("the change is in place; follow the rollout with: aws ecs describe-services --cluster %s --services %s", cluster, service))
	}
	return err
}

// history returns the store's versions, newest first, if it keeps them.
func (f *flagsCtx) history() (envsync.Versioned, []envsync.ObjectVersion, bool, error) {
	vs, ok := f.store.(envsync.Versioned)
	if !ok {
		return nil, nil, false, fmt.Errorf("%s keeps no history (only s3:// env files in a versioned bucket do)", f.url)
	}
	versions, enabled, err := vs.Versions(f.c.Context)
	return vs, versions, enabled, err
}

func flagsHistory(c *cli.Context) error {
	f, err := openFlags(c)
	if err != nil {
		return err
	}
	vs, versions, enabled, err := f.history()
	if err != nil {
		return err
	}
	if !enabled {
		warnf(c, "versioning is off for the bucket of %s: nothing can be undone", f.url)
		hintf(c, "aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration Status=Enabled")
	}
	limit := c.Int("limit")
	if len(versions) > limit+1 {
		versions = versions[:limit+1] // one more, to diff the oldest shown
	}
	snaps := make([]*envsync.Snapshot, len(versions))
	for i, v := range versions {
		if v.Deleted {
			snaps[i] = envsync.EmptySnapshot()
			continue
		}
		if snaps[i], err = vs.ReadVersion(c.Context, v.ID); err != nil {
			return err
		}
		f.mask(snaps[i].Vars)
	}
	type entry struct {
		Version string    `json:"version"`
		When    time.Time `json:"when"`
		Who     string    `json:"who"`
		Why     string    `json:"why"`
		Changes []string  `json:"changes"`
	}
	var out []entry
	for i, v := range versions {
		if i == limit {
			break
		}
		prev := envsync.EmptySnapshot()
		if i+1 < len(snaps) {
			prev = snaps[i+1]
		}
		e := entry{Version: v.ID, When: v.Modified, Who: snaps[i].Meta["envsync-by"], Why: snaps[i].Meta["envsync-reason"], Changes: diffLines(prev.Vars, snaps[i].Vars)}
		if v.Deleted {
			e.Why = "(deleted)"
		}
		out = append(out, e)
	}
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	w := c.App.Writer
	switch format {
	case formatJSON:
		return writeJSON(w, map[string]any{"store": f.url, "versioning": enabled, "versions": out})
	case formatMarkdown:
		fmt.Fprint(w, "| When | Who | Why | Changes | Version |\n|---|---|---|---|---|\n")
		for _, e := range out {
			fmt.Fprintf(w, "| %s | %s | %s | %s | `%s` |\n", e.When.UTC().Format(time.RFC3339), mdEscape(e.Who), mdEscape(e.Why), mdEscape(strings.Join(e.Changes, "; ")), e.Version)
		}
	default:
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WHEN\tWHO\tWHY\tCHANGES\tVERSION")
		for _, e := range out {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.When.UTC().Format(time.RFC3339), orDash(e.Who), orDash(e.Why), strings.Join(e.Changes, "; "), e.Version)
		}
		tw.Flush()
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// diffLines describes the change from old to new: "+K=v", "-K", "K: a → b".
// Flag values are not secret (only feature flags live here).
func diffLines(old, new map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(new)) {
		if o, ok := old[k]; !ok {
			out = append(out, fmt.Sprintf("+%s=%s", k, new[k]))
		} else if o != new[k] {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, o, new[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if _, ok := new[k]; !ok {
			out = append(out, "-"+k)
		}
	}
	return out
}

func flagsRollback(c *cli.Context) error {
	f, reason, err := openFlagsForWrite(c)
	if err != nil {
		return err
	}
	vs, versions, _, err := f.history()
	if err != nil {
		return err
	}
	to := c.String("to")
	if to == "" {
		if len(versions) < 2 {
			return fmt.Errorf("%s has no earlier version to roll back to", f.url)
		}
		to = versions[1].ID
	}
	if !slices.ContainsFunc(versions, func(v envsync.ObjectVersion) bool { return v.ID == to && !v.Deleted }) {
		return envsync.WithHint(fmt.Errorf("%s: no version %q", f.url, to), "envsync flags history lists them")
	}
	old, err := vs.ReadVersion(c.Context, to)
	if err != nil {
		return err
	}
	cur, err := f.store.Read(c.Context)
	if err != nil {
		return err
	}
	changes := diffLines(cur.Vars, old.Vars)
	if len(changes) == 0 {
		fmt.Fprintf(c.App.ErrWriter, "envsync: %s already matches version %s; nothing written\n", f.url, to)
		return nil
	}
	for _, l := range changes {
		fmt.Fprintln(c.App.ErrWriter, "  "+l)
	}
	if err := confirm(c, "roll back", "Roll back?", "review the changes above, then add --yes"); err != nil {
		return err
	}
	keys := slices.Sorted(maps.Keys(old.Vars))
	err = f.store.Write(c.Context, &envsync.WriteRequest{Base: cur, Vars: old.Vars, Meta: f.meta("rollback to "+to+": "+reason, keys)})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "envsync: rolled %s back to version %s (as a new version)\n", f.url, to)
	return f.restart()
}

func flagsApply(c *cli.Context) error {
	f, reason, err := openFlagsForWrite(c)
	if err != nil {
		return err
	}
	defer logCalls(c, f.calls)
	from := c.String("from")
	if from == "" {
		from = f.app.FlagsFile
	}
	if from == "" {
		return usageError("give --from FILE, or flags_file: in the config")
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if findings := envsync.LintEnvFile(from, data); envsync.HasErrors(findings) {
		for _, fd := range findings {
			fmt.Fprintln(c.App.ErrWriter, fd)
		}
		return envsync.WithHint(fmt.Errorf("%s: not a clean ECS env file; nothing written", from), "run envsync check "+from)
	}
	vars, err := envsync.ParseEnvFile(from, data)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if err := f.checkFlag(k, vars[k]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return refused(errs)
	}
	cur, err := f.store.Read(c.Context)
	if err != nil {
		return err
	}
	if envsync.Unchanged(cur, vars) {
		fmt.Fprintf(c.App.ErrWriter, "envsync: %s already matches %s; nothing written\n", f.url, from)
		return nil
	}
	for _, l := range diffLines(cur.Vars, vars) {
		fmt.Fprintln(c.App.Writer, l)
	}
	err = f.store.Write(c.Context, &envsync.WriteRequest{Base: cur, Vars: vars, Meta: f.meta(reason, slices.Sorted(maps.Keys(vars)))})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "envsync: wrote %s from %s\n", f.url, from)
	return f.restart()
}

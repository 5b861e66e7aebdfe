package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/ecs"
)

func flagsCommand() *cli.Command {
	reason := &cli.StringFlag{Name: "reason", Aliases: []string{"m"}, EnvVars: []string{"ENVSYNC_REASON"}, Usage: "why (kept with the change, shown by history)"}
	restart := []cli.Flag{
		&cli.BoolFlag{Name: "restart", EnvVars: []string{"ENVSYNC_RESTART"}, Usage: "roll the app's ECS service (restart: in the config) so tasks read the new file"},
		&cli.BoolFlag{Name: "wait", EnvVars: []string{"ENVSYNC_WAIT"}, Usage: "with --restart: follow the deployment until it is stable"},
		&cli.DurationFlag{Name: "wait-timeout", Value: 15 * time.Minute, EnvVars: []string{"ENVSYNC_WAIT_TIMEOUT"}, Usage: "give up waiting after this long"},
	}
	common := func(more ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{oneAppFlag(), rulesFlag(), formatFlag()}, more...)
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
envsync version are stored with each version of the object.

While the app is migrating (phase: migrating, the default) and its source is
a Heroku app, set and unset make the same change on Heroku, the truth, so
import and drift see no difference (--no-heroku: only the S3 file; import
then holds the change and drift reports it). Once the app is cut over, only
the S3 file is written.`,
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "print the flags", Flags: common(), Action: flagsList},
			{Name: "get", Usage: "print one flag's value", ArgsUsage: "KEY", Flags: common(), Action: flagsGet},
			{Name: "set", Usage: "set flags (and on the Heroku source while the app is migrating)", ArgsUsage: "KEY=VALUE…", Flags: common(write(sourceFlags()...)...), Action: flagsSet},
			{Name: "unset", Usage: "remove flags (and from the Heroku source while the app is migrating)", ArgsUsage: "KEY…", Flags: common(write(sourceFlags()...)...), Action: flagsUnset},
			{Name: "history", Usage: "the file's versions, newest first: when, who, why, which keys changed", Flags: common(&cli.IntFlag{Name: "limit", Value: 20, Usage: "show at most this many versions"}), Action: flagsHistory},
			{Name: "rollback", Usage: "write an older version's content as a new version", Flags: common(write(&cli.StringFlag{Name: "to", Usage: "the version id (default: the one before the current)"}, &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, EnvVars: []string{"ENVSYNC_YES"}, Usage: "apply without asking"})...), Action: flagsRollback},
			{Name: "apply", Usage: "push a reviewed env file (the one merged in git), if it differs", Flags: common(write(&cli.StringFlag{Name: "from", Usage: "the env file (default: the app's flags_file)"},
				&cli.BoolFlag{Name: "prune", EnvVars: []string{"ENVSYNC_PRUNE"}, Usage: "delete keys found only in the S3 file (default: leave them, like import)"},
				&cli.BoolFlag{Name: "overwrite-flags", Usage: "write the file's value over a flag changed with envsync flags that the file does not carry (default: hold it)"})...), Action: flagsApply},
		},
	}
}

// flagsRun is what every flags subcommand works with: the set-up, the app
// and its flags file. Options are read into it at the top of each action.
type flagsRun struct {
	*setup
	app    *envsync.App
	flags  *envsync.Flags
	out    io.Writer // data
	errw   io.Writer // talk
	format string
	// for changes
	reason  string
	source  bool // make the change on the Heroku source too
	restart restartOpts
}

func sourceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "no-heroku", Usage: "write only the S3 file, not the Heroku source (import then holds the change and drift reports it)"},
		&cli.BoolFlag{Name: "heroku", Usage: "the default while migrating with a heroku:// source (kept for compatibility); an error when the source cannot be written"},
	}
}

type restartOpts struct {
	restart, wait bool
	timeout       time.Duration
	tty           bool
}

func openFlags(c *cli.Context) (*flagsRun, error) {
	format, err := outputFormat(c.String("format"))
	if err != nil {
		return nil, err
	}
	s, err := newSetup(c, false)
	if err != nil {
		return nil, err
	}
	app, err := s.oneApp("")
	if err != nil {
		return nil, err
	}
	fl, err := envsync.OpenFlags(c.Context, s.cfg, app, s.cl, s.opts)
	if err != nil {
		return nil, err
	}
	return &flagsRun{setup: s, app: app, flags: fl, out: c.App.Writer, errw: c.App.ErrWriter, format: format}, nil
}

// openFlagsForWrite is openFlags for a change, which must say why (--reason).
func openFlagsForWrite(c *cli.Context) (*flagsRun, error) {
	reason := strings.TrimSpace(c.String("reason"))
	if reason == "" {
		return nil, usageError("say why with --reason TEXT (it is kept with the change)")
	}
	f, err := openFlags(c)
	if err != nil {
		return nil, err
	}
	f.reason = reason
	switch heroku, noHeroku := c.Bool("heroku"), c.Bool("no-heroku"); {
	case heroku && noHeroku:
		return nil, usageError("--heroku and --no-heroku contradict each other")
	case heroku:
		if err := envsync.CanEditSource(f.app); err != nil {
			return nil, err
		}
		f.source = true
	case !noHeroku:
		f.source = envsync.WritesSource(f.app)
	}
	f.restart = restartOpts{restart: c.Bool("restart"), wait: c.Bool("wait"), timeout: c.Duration("wait-timeout"), tty: isTerminal(c.App.ErrWriter)}
	// What the change asks for beyond the file is checked before the file
	// is written, so a refused --restart or --heroku writes nothing.
	if f.source && hasFlag(c.Command, "no-heroku") { // set and unset: the commands that write the source
		if err := envsync.CheckSourceWritable(c.Context, f.cfg, f.app, f.opts); err != nil {
			return nil, err
		}
	}
	if f.restart.restart && f.app.Restart == "" {
		return nil, noRestart()
	}
	return f, nil
}

func noRestart() error {
	return envsync.WithHint(fmt.Errorf("--restart: no restart: service in the config for this app; nothing written"), "add restart: ecs://CLUSTER/SERVICE to the app in the config, or leave out --restart")
}

// report prints what a change did (flags set, unset, apply, rollback) in
// the chosen format: the changes, or in JSON also that nothing changed.
func (f *flagsRun) report(chs []envsync.Change, changed bool) error {
	switch f.format {
	case formatJSON:
		return writeJSON(f.out, map[string]any{"app": f.app.Name, "store": f.flags.URL, "changed": changed, "changes": changeList(chs)})
	case formatMarkdown:
		if changed {
			writePlanMarkdown(f.out, f.app.Name, chs, nil, nil)
		}
	default:
		writeChanges(f.out, chs)
	}
	return nil
}

func flagsList(c *cli.Context) error {
	f, err := openFlags(c)
	if err != nil {
		return err
	}
	snap, err := f.flags.Read(c.Context)
	if err != nil {
		return err
	}
	keys := slices.Sorted(maps.Keys(snap.Vars))
	w := f.out
	switch f.format {
	case formatJSON:
		return writeJSON(w, map[string]any{"app": f.app.Name, "store": f.flags.URL, "flags": snap.Vars})
	case formatMarkdown:
		fmt.Fprintf(w, "| Flag | Value |\n|---|---|\n")
		for _, k := range keys {
			fmt.Fprintf(w, "| `%s` | `%s` |\n", mdEscape(envsync.ShowKey(k)), mdEscape(envsync.Escape(snap.Vars[k])))
		}
	default:
		for _, k := range keys {
			fmt.Fprintf(w, "%s=%s\n", envsync.ShowKey(k), envsync.Escape(snap.Vars[k]))
		}
	}
	return nil
}

func flagsGet(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("flags get takes one KEY")
	}
	key := c.Args().First()
	f, err := openFlags(c)
	if err != nil {
		return err
	}
	snap, err := f.flags.Read(c.Context)
	if err != nil {
		return err
	}
	v, ok := snap.Vars[key]
	if !ok {
		return fmt.Errorf("%s: %s is not set: %w", f.flags.URL, argText(key), envsync.ErrNotFound)
	}
	switch f.format {
	case formatJSON:
		return writeJSON(f.out, map[string]any{"app": f.app.Name, "store": f.flags.URL, "key": key, "value": v})
	case formatMarkdown:
		fmt.Fprintf(f.out, "| Flag | Value |\n|---|---|\n| `%s` | `%s` |\n", mdEscape(envsync.ShowKey(key)), mdEscape(envsync.Escape(v)))
	default:
		fmt.Fprintln(f.out, envsync.Escape(v))
	}
	return nil
}

func flagsSet(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageError("flags set takes KEY=VALUE arguments")
	}
	set := map[string]string{}
	for _, a := range c.Args().Slice() {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return usageError("%s: want KEY=VALUE", argText(k))
		}
		if v == "" {
			return usageError("%s: an empty value is dropped by ECS; use flags unset %s", envsync.ShowKey(k), envsync.ShowKey(k))
		}
		set[k] = v
	}
	f, err := openFlagsForWrite(c)
	if err != nil {
		return err
	}
	return f.edit(c.Context, set, nil)
}

func flagsUnset(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageError("flags unset takes KEY arguments")
	}
	f, err := openFlagsForWrite(c)
	if err != nil {
		return err
	}
	return f.edit(c.Context, nil, c.Args().Slice())
}

func (f *flagsRun) edit(ctx context.Context, set map[string]string, unset []string) error {
	defer f.logCalls()
	start := time.Now()
	res, err := f.flags.Edit(ctx, set, unset, actor(), f.reason)
	if err != nil {
		return err
	}
	for _, k := range res.NotSet {
		warnf(f.errw, "%s is not set in %s", envsync.ShowKey(k), f.flags.URL)
	}
	if err := f.report(res.Changes, res.Changed); err != nil {
		return err
	}
	if !res.Changed {
		infof(f.errw, "%s already has that; nothing written", f.flags.URL)
	} else {
		msg := fmt.Sprintf("wrote %s in %s", f.flags.URL, time.Since(start).Round(time.Millisecond))
		if res.Retries > 0 {
			msg += fmt.Sprintf(" (after %d concurrent change(s))", res.Retries)
		}
		infof(f.errw, "%s", msg)
	}
	var srcErr error // the env file is written: a failed source write does not skip the restart
	if f.source {
		changed, err := envsync.EditSource(ctx, f.cfg, f.app, set, unset, f.opts)
		switch {
		case err != nil:
			srcErr = err
		case changed:
			infof(f.errw, "changed %s too (Heroku restarts its dynos itself)", f.app.Source)
		default:
			infof(f.errw, "%s already has that", f.app.Source)
		}
	}
	if res.Changed || f.restart.restart { // a requested restart is never skipped
		if err := f.rollService(ctx); err != nil {
			return errors.Join(srcErr, err)
		}
	}
	return srcErr
}

// restartIfAsked rolls the service when --restart was given, though nothing
// was written: the file may hold a change the running tasks have not loaded
// (a reply lost, an earlier run without --restart).
func (f *flagsRun) restartIfAsked(ctx context.Context) error {
	if !f.restart.restart {
		return nil
	}
	return f.rollService(ctx)
}

// rollService rolls the ECS service with --restart.
func (f *flagsRun) rollService(ctx context.Context) error {
	if !f.restart.restart {
		if f.app.Restart != "" {
			hintf(f.errw, "running tasks read env files only when they start: add --restart to roll %s", f.app.Restart)
		}
		return nil
	}
	if f.app.Restart == "" {
		return noRestart() // checked before the write too
	}
	svc, err := ecs.Open(ctx, f.app.Restart, f.opts)
	if err != nil {
		return err
	}
	id, err := svc.Restart(ctx)
	if err != nil {
		return fmt.Errorf("the file was written, but the restart failed: %w", err)
	}
	infof(f.errw, "restarting %s (deployment %s)", f.app.Restart, id)
	if !f.restart.wait {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.restart.timeout)
	defer cancel()
	err = svc.Wait(ctx, id, 5*time.Second, func(p ecs.Progress) { progressf(f.errw, f.restart.tty, "%s", p) })
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		cluster, service, _ := envsync.ParseECSURL(f.app.Restart)
		return envsync.WithHint(fmt.Errorf("%s was written and %s is restarting (deployment %s), but it was not stable within %s: %w", f.flags.URL, f.app.Restart, id, f.restart.timeout, context.DeadlineExceeded),
			fmt.Sprintf("the change is in place; follow the rollout with: aws ecs describe-services --cluster %s --services %s", cluster, service))
	}
	return err
}

func flagsHistory(c *cli.Context) error {
	limit := c.Int("limit")
	f, err := openFlags(c)
	if err != nil {
		return err
	}
	versions, enabled, err := f.flags.History(c.Context, limit)
	if err != nil {
		return err
	}
	if !enabled {
		warnf(f.errw, "versioning is off for the bucket of %s: nothing can be undone", f.flags.URL)
		hintf(f.errw, "aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration Status=Enabled")
	}
	type entry struct {
		Version string    `json:"version"`
		When    time.Time `json:"when"`
		Who     string    `json:"who"`
		Why     string    `json:"why"`
		Changes []string  `json:"changes"`
	}
	out := []entry{}
	for _, v := range versions {
		e := entry{Version: v.ID, When: v.When, Who: v.Who, Why: v.Why, Changes: []string{}}
		for _, ch := range v.Changes {
			e.Changes = append(e.Changes, changeLine(ch))
		}
		out = append(out, e)
	}
	w := f.out
	switch f.format {
	case formatJSON:
		return writeJSON(w, map[string]any{"store": f.flags.URL, "versioning": enabled, "versions": out})
	case formatMarkdown:
		fmt.Fprint(w, "| When | Who | Why | Changes | Version |\n|---|---|---|---|---|\n")
		for _, e := range out {
			fmt.Fprintf(w, "| %s | %s | %s | %s | `%s` |\n", e.When.UTC().Format(time.RFC3339), mdEscape(envsync.Escape(e.Who)), mdEscape(envsync.Escape(e.Why)), mdEscape(strings.Join(e.Changes, "; ")), e.Version)
		}
	default:
		// One block per version, one change per line, so it fits a
		// 100-column terminal: when, who and the version, then why and
		// the changes, indented.
		for _, e := range out {
			fmt.Fprintf(w, "%s  %s  version %s\n", e.When.UTC().Format(time.RFC3339), orDash(envsync.Escape(e.Who)), orDash(e.Version))
			fmt.Fprintf(w, "  why: %s\n", orDash(envsync.Escape(e.Why)))
			for _, ch := range e.Changes {
				fmt.Fprintf(w, "  %s\n", ch)
			}
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func flagsRollback(c *cli.Context) error {
	to, yes := c.String("to"), c.Bool("yes")
	f, err := openFlagsForWrite(c)
	if err != nil {
		return err
	}
	defer f.logCalls()
	rb, err := f.flags.PrepareRollback(c.Context, to)
	if err != nil {
		return err
	}
	if len(rb.Changes) == 0 {
		infof(f.errw, "%s already matches version %s; nothing written", f.flags.URL, rb.To)
		if err := f.report(nil, false); err != nil {
			return err
		}
		return f.restartIfAsked(c.Context)
	}
	// The changes are the data: on stdout in text (before the prompt, like
	// import's plan); in JSON and markdown the document comes after the
	// write, and the preview before the prompt is talk.
	preview := f.out
	if f.format != formatText {
		preview = f.errw
	}
	writeChanges(preview, rb.Changes)
	if err := confirm(c.App.Reader, f.errw, yes, "roll back", "Roll back?", "review the changes above, then add --yes"); err != nil {
		return err
	}
	if _, err := f.flags.Rollback(c.Context, rb, actor(), f.reason); err != nil {
		return err
	}
	if f.format != formatText {
		if err := f.report(rb.Changes, true); err != nil {
			return err
		}
	}
	infof(f.errw, "rolled %s back to version %s (as a new version)", f.flags.URL, rb.To)
	return f.rollService(c.Context)
}

func flagsApply(c *cli.Context) error {
	from, prune, overwrite := c.String("from"), c.Bool("prune"), c.Bool("overwrite-flags")
	f, err := openFlagsForWrite(c)
	if err != nil {
		return err
	}
	defer f.logCalls()
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
	vars, findings, err := envsync.ReadReviewed(from, data)
	for _, fd := range findings {
		fmt.Fprintln(f.errw, envsync.Escape(fd.String()))
	}
	if err != nil {
		return err
	}
	r, err := f.flags.PlanReviewed(c.Context, vars, prune, overwrite)
	if err != nil {
		return err
	}
	for _, ch := range r.Held {
		warnf(f.errw, "%s", heldLine(ch, from))
	}
	if len(r.Held) > 0 {
		hintf(f.errw, "commit the live value(s) to %s, or revert them on purpose with --overwrite-flags", from)
	}
	if len(r.Extra) > 0 {
		infof(f.errw, "%d key(s) only in %s left alone (--prune deletes them): %s", len(r.Extra), f.flags.URL, keyList(r.Extra))
	}
	if len(r.Changes) == 0 {
		if err := f.report(nil, false); err != nil {
			return err
		}
		if len(r.Held) > 0 {
			infof(f.errw, "nothing written to %s", f.flags.URL)
		} else {
			infof(f.errw, "%s already matches %s; nothing written", f.flags.URL, from)
		}
		return f.restartIfAsked(c.Context)
	}
	res, err := f.flags.WriteReviewed(c.Context, r, actor(), f.reason)
	if err != nil {
		return err
	}
	for i, ch := range res.Changes { // say whose flag change an overwrite replaced
		if j := slices.IndexFunc(r.Changes, func(p envsync.Change) bool { return p.Key == ch.Key }); j >= 0 && r.Changes[j].Reverts() {
			res.Changes[i].Prov = r.Changes[j].Prov
		}
	}
	if err := f.report(res.Changes, res.Changed); err != nil {
		return err
	}
	if !res.Changed {
		infof(f.errw, "%s already matches %s; nothing written", f.flags.URL, from)
		return f.restartIfAsked(c.Context)
	}
	infof(f.errw, "wrote %s from %s", f.flags.URL, from)
	return f.rollService(c.Context)
}

// keyList names the changes' keys, escaped.
func keyList(chs []envsync.Change) string {
	keys := make([]string, len(chs))
	for i, ch := range chs {
		keys[i] = envsync.ShowKey(ch.Key)
	}
	return strings.Join(keys, ", ")
}

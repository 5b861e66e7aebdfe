package main

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
)

func planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "show what an import would change in each routed store (changes nothing)",
		Description: `Reads each app's source, classifies every variable, reads every routed store
and prints the changes an import would make. Secret values show as
"(sensitive)" with a short fingerprint.

Exit codes: 0 success (with or without changes), 1 error; with
--detailed-exitcode, 0 no changes, 2 changes to apply, 1 error (as terraform
plan -detailed-exitcode). envsync drift always answers 0/2/1.`,
		Flags: []cli.Flag{appFlag(), rulesFlag(), formatFlag(), pruneFlag(), overwriteFlagsFlag(), parallelFlag(), timeoutFlag(),
			&cli.BoolFlag{Name: "detailed-exitcode", EnvVars: []string{"ENVSYNC_DETAILED_EXITCODE"}, Usage: "exit 2 when there are changes to apply (0 none, 1 error), as terraform plan -detailed-exitcode"},
		},
		Action: func(c *cli.Context) error { return runPlan(c, false) },
	}
}

func importCommand() *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "plan, show the plan, then apply it: secrets first, then tfvars, then the S3 env file",
		Description: `Makes every routed store match the source. The whole plan is validated
before the first write; a second import makes no write call at all. Nothing
is deleted from a store unless --prune. Heroku is never written. A flag
changed with envsync flags that the source does not carry is held (shown
with who, when and why) unless --overwrite-flags. An app with phase: cutover
is refused: its stores are the truth.

Asks before applying unless --yes; refuses without --yes when not on a terminal.`,
		Flags: []cli.Flag{appFlag(), rulesFlag(), formatFlag(), pruneFlag(), overwriteFlagsFlag(), parallelFlag(), timeoutFlag(),
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, EnvVars: []string{"ENVSYNC_YES"}, Usage: "apply without asking"},
		},
		Action: func(c *cli.Context) error { return runPlan(c, true) },
	}
}

func overwriteFlagsFlag() cli.Flag {
	return &cli.BoolFlag{Name: "overwrite-flags", Usage: "write the source's value over a flag changed with envsync flags (default: hold it and say who changed it)"}
}

func pruneFlag() cli.Flag {
	return &cli.BoolFlag{Name: "prune", EnvVars: []string{"ENVSYNC_PRUNE"}, Usage: "delete keys found only in a store (default: leave them and report them as extra)"}
}

func runPlan(c *cli.Context, apply bool) error {
	format, err := outputFormat(c.String("format"))
	if err != nil {
		return err
	}
	prune, yes, overwrite, picked := c.Bool("prune"), c.Bool("yes"), c.Bool("overwrite-flags"), len(c.StringSlice("app")) > 0
	s, err := newSetup(c, false)
	if err != nil {
		return err
	}
	defer s.logCalls()
	cfg := s.cfg
	eng := s.engine(prune)
	eng.OverwriteFlags = overwrite

	apps := s.apps
	if !picked { // a cut-over app is skipped, saying so; one named with --app is refused
		apps = nil
		for _, app := range s.apps {
			if app.CutOver() {
				infof(c.App.ErrWriter, "%s is cut over: skipped (its stores are the truth; envsync drift checks them)", app.Name)
				continue
			}
			apps = append(apps, app)
		}
	}
	ro := runOptions(c, &eng.Open, "planned", len(apps))
	defer reportRateLimit(c, eng.Open.RateLimit)
	// One app that cannot be planned blocks only itself: the others' plans
	// are printed, then its error (the hint says where to fix it), exit 1.
	plans, planErr := eng.PlanAll(c.Context, cfg, apps, ro)
	changes, planned := false, 0
	for _, p := range plans {
		if p != nil {
			planned++
			changes = changes || p.HasChanges()
		}
	}
	if planned == 0 && planErr != nil && format == formatText {
		return planErr // nothing to show (JSON and markdown still say which app failed)
	}

	// The plan is data, on stdout for import as for plan; the prompt and
	// what happened go to stderr.
	if err := writePlan(c.App.Writer, format, apps, plans, planErr); err != nil {
		return err
	}
	if planErr != nil {
		printError(c.App.ErrWriter, planErr)
		if apply {
			hintf(c.App.ErrWriter, "nothing was written: an import applies only when every app plans; fix the app(s) above, or import the others with --app")
		}
		return exitCode(exitError)
	}
	if !apply {
		if changes && c.Bool("detailed-exitcode") {
			return exitCode(exitChanges)
		}
		return nil
	}
	held := 0
	for _, p := range plans {
		if p != nil {
			held += len(p.Held)
		}
	}
	if !changes {
		if held > 0 {
			warnf(c.App.ErrWriter, "nothing written: %d flag change(s) made with envsync flags are held (see above)", held)
			hintf(c.App.ErrWriter, "make the same change at the source (envsync flags set writes both), or overwrite them with --overwrite-flags")
			return nil
		}
		infof(c.App.ErrWriter, "nothing to do: every store already matches")
		return nil
	}
	if err := confirm(c.App.Reader, c.App.ErrWriter, yes, "apply", "Apply these changes?", "review the plan (envsync plan), then run envsync import --yes"); err != nil {
		return err
	}
	meta := envsync.ImportMeta(actor())
	n, err := eng.ApplyAll(c.Context, plans, meta, runOptions(c, &eng.Open, "applied", len(plans)))
	if err != nil {
		return err
	}
	infof(c.App.ErrWriter, "applied %d change(s) to %d app(s)", n, len(plans))
	if held > 0 {
		warnf(c.App.ErrWriter, "%d flag change(s) made with envsync flags are held, not reverted (see above)", held)
		hintf(c.App.ErrWriter, "make the same change at the source (envsync flags set writes both), or overwrite them with --overwrite-flags")
	}
	return nil
}

// planJSON is the plan's JSON document.
type planJSON struct {
	Changes bool          `json:"changes"`
	Apps    []planAppJSON `json:"apps"`
}

type planAppJSON struct {
	App      string                `json:"app"`
	Changes  []changeJSON          `json:"changes"`
	Extra    []changeJSON          `json:"extra"`
	Held     []changeJSON          `json:"held"`
	Counts   actionCountsJSON      `json:"counts"`
	Classes  countsJSON            `json:"classes"`
	Unrouted map[envsync.Class]int `json:"unrouted,omitempty"`
	Exposed  []string              `json:"exposed,omitempty"`
	// Error says why the app could not be planned (then it has no changes).
	Error string `json:"error,omitempty"`
}

// actionCountsJSON counts a plan's changes by action; classes counts the
// source's variables by class.
type actionCountsJSON struct {
	Add    int `json:"add"`
	Update int `json:"update"`
	Delete int `json:"delete"`
	Extra  int `json:"extra"`
	Held   int `json:"held"`
}

func toActionCounts(p *envsync.AppPlan) actionCountsJSON {
	add, upd, del := countActions(p.Changes)
	return actionCountsJSON{Add: add, Update: upd, Delete: del, Extra: len(p.Extra), Held: len(p.Held)}
}

type changeJSON struct {
	Store     string    `json:"store"`
	Class     string    `json:"class"`
	Key       string    `json:"key"`
	Action    string    `json:"action"`
	Old       string    `json:"old,omitempty"`
	New       string    `json:"new,omitempty"`
	Sensitive bool      `json:"sensitive,omitempty"`
	Addon     string    `json:"addon,omitempty"`
	ChangedBy *provJSON `json:"changed_by,omitempty"`
	HeldWhy   string    `json:"held_why,omitempty"`
}

// provJSON is who last changed a key in the store (never a value).
type provJSON struct {
	Writer  string     `json:"writer"`
	Command string     `json:"command,omitempty"`
	By      string     `json:"by,omitempty"`
	Reason  string     `json:"reason,omitempty"`
	When    *time.Time `json:"when,omitempty"`
	Version string     `json:"version,omitempty"`
}

func toProvJSON(p *envsync.Provenance) *provJSON {
	if p == nil {
		return nil
	}
	j := &provJSON{Writer: string(p.Writer), Command: p.Command, By: p.By, Reason: p.Reason, Version: p.Version}
	if j.Writer == "" {
		j.Writer = "unknown"
	}
	if !p.When.IsZero() {
		t := p.When.UTC()
		j.When = &t
	}
	return j
}

func toChangeJSON(ch envsync.Change) changeJSON {
	j := changeJSON{Store: ch.Store, Class: string(ch.Class), Key: ch.Key, Action: string(ch.Action), Sensitive: ch.Sensitive, Addon: ch.Addon, ChangedBy: toProvJSON(ch.Prov), HeldWhy: ch.HeldWhy}
	if ch.Old != "" {
		j.Old = ch.Mask(ch.Old)
	}
	if ch.New != "" {
		j.New = ch.Mask(ch.New)
	}
	return j
}

func changeList(chs []envsync.Change) []changeJSON {
	out := make([]changeJSON, 0, len(chs))
	for _, ch := range chs {
		out = append(out, toChangeJSON(ch))
	}
	return out
}

// writePlan prints the plans; an app whose plan is nil failed, and says so
// in its place (its error is printed on stderr).
func writePlan(w io.Writer, format string, apps []*envsync.App, plans []*envsync.AppPlan, planErr error) error {
	failed := appErrors(plans, planErr)
	switch format {
	case formatJSON:
		doc := planJSON{Apps: []planAppJSON{}}
		for i, p := range plans {
			if p == nil {
				doc.Apps = append(doc.Apps, planAppJSON{App: apps[i].Name, Changes: []changeJSON{}, Extra: []changeJSON{}, Held: []changeJSON{}, Error: errorText(failed[i])})
				continue
			}
			doc.Changes = doc.Changes || p.HasChanges()
			a := planAppJSON{App: p.App.Name, Changes: changeList(p.Changes), Extra: changeList(p.Extra), Held: changeList(p.Held), Counts: toActionCounts(p), Classes: toCounts(p.CountByClass()), Exposed: p.Exposed}
			if len(p.Unrouted) > 0 {
				a.Unrouted = p.Unrouted
			}
			doc.Apps = append(doc.Apps, a)
		}
		return writeJSON(w, doc)
	case formatMarkdown:
		for i, p := range plans {
			if p == nil {
				fmt.Fprintf(w, "### %s: error\n\n%s\n\n", mdEscape(envsync.Escape(apps[i].Name)), mdEscape(envsync.Escape(errorText(failed[i]))))
				continue
			}
			writePlanMarkdown(w, p.App.Name, p.Changes, p.Extra, p.Held)
			for _, n := range p.Exposed {
				fmt.Fprintf(w, "> **Warning**: %s\n\n", mdEscape(n))
			}
		}
	default:
		for i, p := range plans {
			if p == nil {
				fmt.Fprintf(w, "%s: not planned: error below\n", envsync.Escape(apps[i].Name))
				continue
			}
			writePlanText(w, p)
		}
	}
	return nil
}

// appErrors maps each nil plan to its app's error: PlanAll joins the errors
// in the apps' order.
func appErrors(plans []*envsync.AppPlan, err error) map[int]error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	m := map[int]error{}
	for i, p := range plans {
		if p == nil && len(errs) > 0 {
			m[i], errs = errs[0], errs[1:]
		}
	}
	return m
}

func errorText(err error) string {
	if err == nil {
		return "not planned"
	}
	return err.Error()
}

var actionMark = map[envsync.Action]string{envsync.Add: "+", envsync.Update: "~", envsync.Delete: "-", envsync.Extra: "?"}

// changeLine is the one rendering of a change in text: values only through
// the display rule (Show for one value, ShowPair for both sides of a change,
// which never cuts away the part that changed), keys escaped; who last
// changed the key in the store, when known.
func changeLine(ch envsync.Change) string {
	if ch.Prov != nil && ch.Prov.Writer != envsync.WriterUnknown {
		return changeText(ch) + " [" + envsync.Escape(ch.Prov.String()) + "]"
	}
	return changeText(ch)
}

// heldLine renders a held change: what the store keeps, what the source
// has, who changed it and how to overwrite it.
func heldLine(ch envsync.Change, truth string) string {
	key, truth := envsync.ShowKey(ch.Key), envsync.Escape(truth)
	old, new := envsync.ShowPair(ch.Key, ch.Old, ch.New, ch.Sensitive)
	var s string
	switch ch.Action {
	case envsync.Add:
		s = fmt.Sprintf("= %s: held unset (%s has %s)", key, truth, new)
	case envsync.Delete:
		s = fmt.Sprintf("= %s: held at %s (%s does not have it)", key, old, truth)
	default:
		s = fmt.Sprintf("= %s: held at %s (%s has %s)", key, old, truth, new)
	}
	s += ": " + envsync.Escape(ch.Prov.String())
	if ch.HeldWhy != "" {
		s += "; " + envsync.Escape(ch.HeldWhy)
	}
	return s
}

func changeText(ch envsync.Change) string {
	key := envsync.ShowKey(ch.Key)
	old, new := envsync.ShowPair(ch.Key, ch.Old, ch.New, ch.Sensitive)
	var s string
	switch ch.Action {
	case envsync.Add:
		s = fmt.Sprintf("%s %s = %s", actionMark[ch.Action], key, new)
	case envsync.Update:
		s = fmt.Sprintf("%s %s: %s → %s", actionMark[ch.Action], key, old, new)
	case envsync.Delete:
		s = fmt.Sprintf("%s %s (was %s)", actionMark[ch.Action], key, old)
	case envsync.NotLoaded:
		return fmt.Sprintf("! not-loaded: the container does not load %s (add it to environmentFiles)", key)
	case envsync.MissingSecret:
		return fmt.Sprintf("! missing-secret: %s points at a key the secret does not have", key)
	case envsync.EnvDiffers:
		return fmt.Sprintf("! env-differs: %s is %s in the task definition, %s in tfvars (the environment beats env files)", key, old, new)
	default:
		s = fmt.Sprintf("%s %s = %s (only in the store)", actionMark[ch.Action], key, old)
	}
	return s + addonMark(ch.Addon)
}

// addonMark says that a Heroku add-on owns the variable: on AWS another
// resource provides it.
func addonMark(addon string) string {
	if addon == "" {
		return ""
	}
	return " [add-on " + envsync.Escape(addon) + "]"
}

// writeChanges prints one change per line (flags set, unset and apply).
func writeChanges(w io.Writer, chs []envsync.Change) {
	for _, ch := range chs {
		fmt.Fprintln(w, changeLine(ch))
	}
}

func countActions(chs []envsync.Change) (add, upd, del int) {
	for _, ch := range chs {
		switch ch.Action {
		case envsync.Add:
			add++
		case envsync.Update:
			upd++
		case envsync.Delete:
			del++
		}
	}
	return
}

func writePlanText(w io.Writer, p *envsync.AppPlan) {
	add, upd, del := countActions(p.Changes)
	fmt.Fprintf(w, "%s: %d to add, %d to update, %d to delete", p.App.Name, add, upd, del)
	if len(p.Extra) > 0 {
		fmt.Fprintf(w, " (%d only in a store, left alone; --prune deletes them)", len(p.Extra))
	}
	if len(p.Held) > 0 {
		fmt.Fprintf(w, " (%d changed with envsync flags, held; --overwrite-flags writes the source's values)", len(p.Held))
	}
	fmt.Fprintln(w)
	writeChangesByStore(w, append(append([]envsync.Change{}, p.Changes...), p.Extra...))
	store := ""
	for _, ch := range p.Held {
		if ch.Store != store { // one header per store, as for the changes above
			store = ch.Store
			fmt.Fprintf(w, "  %s\n", envsync.Escape(store))
		}
		fmt.Fprintf(w, "    %s\n", heldLine(ch, "the source"))
	}
	for _, class := range envsync.RoutedClasses {
		if n := p.Unrouted[class]; n > 0 {
			fmt.Fprintf(w, "  note: %d %s variable(s) have no route in the config and are not written\n", n, class)
		}
	}
	for _, n := range p.Exposed {
		fmt.Fprintf(w, "  warning: %s\n", n)
	}
}

func writeChangesByStore(w io.Writer, chs []envsync.Change) {
	var order []string
	byStore := map[string][]envsync.Change{}
	for _, ch := range chs {
		if _, ok := byStore[ch.Store]; !ok {
			order = append(order, ch.Store)
		}
		byStore[ch.Store] = append(byStore[ch.Store], ch)
	}
	for _, s := range order {
		fmt.Fprintf(w, "  %s\n", envsync.Escape(s))
		for _, ch := range byStore[s] {
			fmt.Fprintf(w, "    %s\n", changeLine(ch))
		}
	}
}

func writePlanMarkdown(w io.Writer, app string, changes, extra, held []envsync.Change) {
	add, upd, del := countActions(changes)
	fmt.Fprintf(w, "### %s: %d to add, %d to update, %d to delete\n\n", mdEscape(app), add, upd, del)
	all := append(append([]envsync.Change{}, changes...), extra...)
	if len(all)+len(held) == 0 {
		fmt.Fprint(w, "No changes.\n\n")
		return
	}
	fmt.Fprint(w, "| Store | Class | Key | Action | Old | New | Add-on |\n|---|---|---|---|---|---|---|\n")
	for i, ch := range append(all, held...) {
		action := string(ch.Action)
		if i >= len(all) {
			action = "held"
		}
		old, new := mdCells(ch)
		addon := ""
		if ch.Addon != "" {
			addon = "`" + mdEscape(envsync.Escape(ch.Addon)) + "`"
		}
		fmt.Fprintf(w, "| `%s` | %s | `%s` | %s | %s | %s | %s |\n", mdEscape(envsync.Escape(ch.Store)), ch.Class, mdEscape(envsync.ShowKey(ch.Key)), action,
			old, new, addon)
	}
	fmt.Fprintln(w)
	writeProvMarkdown(w, append(all, held...))
}

// writeProvMarkdown says, under a table, who last changed each key in the store.
func writeProvMarkdown(w io.Writer, chs []envsync.Change) {
	for _, ch := range chs {
		if ch.Prov != nil && ch.Prov.Writer != envsync.WriterUnknown {
			fmt.Fprintf(w, "> `%s`: %s\n\n", mdEscape(envsync.ShowKey(ch.Key)), mdEscape(envsync.Escape(ch.Prov.String())))
		}
	}
}

// mdCells are the two sides of a change as table cells, by the display rule
// (ShowPair); a cell is empty when its value is absent.
func mdCells(ch envsync.Change) (old, new string) {
	o, n := envsync.ShowPair(ch.Key, ch.Old, ch.New, ch.Sensitive)
	return mdValue(ch.Old, o), mdValue(ch.New, n)
}

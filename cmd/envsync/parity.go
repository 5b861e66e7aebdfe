package main

import (
	"cmp"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/ecs"
)

func parityCommand() *cli.Command {
	return &cli.Command{
		Name:  "parity",
		Usage: "say whether each app's ECS container sees exactly what the source gives the dyno (the gate before cutover)",
		Description: `Builds the environment of the app's container the way ECS does — env files
top down (the first wins), then environment entries (they beat every file),
then secrets resolved from Secrets Manager (on the ECS agent a secret beats an
environment entry of the same name) — and compares it with the source minus
the variables classed ignore: keys the container will not see, keys with
another value (secrets by fingerprint, never shown), keys set in several
places (shadowed), and keys the source lacks. The container is the app's
container: (default: the only essential one, or the one named like the
service); sidecars are left alone. Heroku-only variables are listed with what
replaces each on ECS.

Exit codes: 0 full parity, 2 not, 1 error.`,
		Flags:  []cli.Flag{appFlag(), rulesFlag(), formatFlag()},
		Action: runParity,
	}
}

func runParity(c *cli.Context) error {
	format, err := outputFormat(c.String("format"))
	if err != nil {
		return err
	}
	s, err := newSetup(c, false)
	if err != nil {
		return err
	}
	cfg, apps := s.cfg, s.apps
	if !c.IsSet("app") {
		// Every app that names its service; one named with --app must have one.
		var withService []*envsync.App
		for _, a := range apps {
			if a.Restart != "" {
				withService = append(withService, a)
			}
		}
		if len(withService) == 0 {
			return envsync.WithHint(fmt.Errorf("no app in %s names its ECS service", cfg.Path),
				"add restart: ecs://CLUSTER/SERVICE (and container: NAME) to the app in the config")
		}
		apps = withService
	}
	defer s.logCalls()
	eng := s.engine(false)
	var results []*envsync.Parity
	var errs []error
	for _, app := range apps {
		p, err := eng.Parity(c.Context, cfg, app, ecs.ReadDeployment)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		results = append(results, p)
	}
	if err := writeParity(c.App.Writer, format, results); err != nil {
		return err
	}
	for _, err := range errs {
		printError(c.App.ErrWriter, err)
	}
	switch {
	case len(errs) > 0:
		return exitCode(exitError)
	case !parityOK(results):
		return exitCode(exitChanges)
	}
	return nil
}

func parityOK(results []*envsync.Parity) bool {
	for _, p := range results {
		if !p.OK() {
			return false
		}
	}
	return true
}

type parityJSON struct {
	App        string               `json:"app"`
	Service    string               `json:"service"`
	Container  string               `json:"container,omitempty"`
	Parity     bool                 `json:"parity"`
	Checked    int                  `json:"checked"`
	Findings   []findingJSON        `json:"findings"`
	HerokuOnly []envsync.HerokuOnly `json:"heroku_only"`
	Notes      []string             `json:"notes,omitempty"`
}

type findingJSON struct {
	Action    string `json:"action"`
	Key       string `json:"key"`
	Class     string `json:"class,omitempty"`
	From      string `json:"from,omitempty"`
	Container string `json:"container_has,omitempty"`
	Source    string `json:"source_has,omitempty"`
	Sensitive bool   `json:"sensitive,omitempty"`
	Detail    string `json:"detail"`
}

func toParityJSON(p *envsync.Parity) parityJSON {
	j := parityJSON{App: p.App.Name, Service: p.Service, Container: p.Container, Parity: p.OK(), Checked: p.Checked,
		Findings: []findingJSON{}, HerokuOnly: p.HerokuOnly, Notes: p.Notes}
	if j.HerokuOnly == nil {
		j.HerokuOnly = []envsync.HerokuOnly{}
	}
	for _, f := range p.Findings {
		fj := findingJSON{Action: string(f.Action), Key: f.Key, Class: string(f.Class), From: f.From, Sensitive: f.Sensitive, Detail: f.Detail}
		if f.Old != "" {
			fj.Container = f.Show(f.Old)
		}
		if f.New != "" {
			fj.Source = f.Show(f.New)
		}
		j.Findings = append(j.Findings, fj)
	}
	return j
}

func writeParity(w io.Writer, format string, results []*envsync.Parity) error {
	switch format {
	case formatJSON:
		doc := struct {
			Parity bool         `json:"parity"`
			Apps   []parityJSON `json:"apps"`
		}{Parity: parityOK(results), Apps: []parityJSON{}}
		for _, p := range results {
			doc.Apps = append(doc.Apps, toParityJSON(p))
		}
		return writeJSON(w, doc)
	case formatMarkdown:
		for _, p := range results {
			writeParityMarkdown(w, p)
		}
	default:
		for _, p := range results {
			writeParityText(w, p, "")
		}
	}
	return nil
}

func parityHeadline(p *envsync.Parity) string {
	where := p.Service
	if p.Container != "" {
		where = fmt.Sprintf("container %s of %s", p.Container, p.Service)
	}
	if p.OK() {
		return fmt.Sprintf("full parity: %s sees all %d variable(s) of %s, and nothing else", where, p.Checked, cmp.Or(p.Truth, "the source"))
	}
	return fmt.Sprintf("no parity: %d finding(s) in %s", len(p.Findings), where)
}

// findingLine is one finding for people: values only through Show.
func findingLine(f envsync.ParityFinding) string {
	s := fmt.Sprintf("! %s %s", f.Action, f.Key)
	if f.Class != "" {
		s += fmt.Sprintf(" (%s)", f.Class)
	}
	old, new := envsync.ShowPair(f.Key, f.Old, f.New, f.Sensitive)
	switch {
	case f.Old != "" && f.New != "":
		s += fmt.Sprintf(": container has %s, source has %s", old, new)
	case f.Old != "":
		s += fmt.Sprintf(": container has %s", old)
	}
	return s + ": " + f.Detail
}

func writeParityText(w io.Writer, p *envsync.Parity, indent string) {
	if indent == "" {
		fmt.Fprintf(w, "%s: %s\n", p.App.Name, parityHeadline(p))
	} else {
		fmt.Fprintf(w, "%sparity: %s\n", indent, parityHeadline(p))
	}
	for _, f := range p.Findings {
		fmt.Fprintf(w, "%s  %s\n", indent, findingLine(f))
	}
	for _, h := range p.HerokuOnly {
		fmt.Fprintf(w, "%s  heroku-only: %s → %s\n", indent, h.Key, h.Replacement)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "%s  note: %s\n", indent, n)
	}
}

func writeParityMarkdown(w io.Writer, p *envsync.Parity) {
	fmt.Fprintf(w, "### %s: %s\n\n", mdEscape(p.App.Name), mdEscape(parityHeadline(p)))
	writeParityMarkdownBody(w, p)
}

func writeParityMarkdownBody(w io.Writer, p *envsync.Parity) {
	if len(p.Findings) > 0 {
		fmt.Fprint(w, "| Finding | Key | Class | Container has | Source has | What to do |\n|---|---|---|---|---|---|\n")
		for _, f := range p.Findings {
			old, new := mdCells(f.Change)
			fmt.Fprintf(w, "| %s | `%s` | %s | %s | %s | %s |\n", f.Action, mdEscape(f.Key), f.Class,
				old, new, mdEscape(f.Detail))
		}
		fmt.Fprintln(w)
	}
	if len(p.HerokuOnly) > 0 {
		fmt.Fprint(w, "| Heroku-only | On ECS |\n|---|---|\n")
		for _, h := range p.HerokuOnly {
			fmt.Fprintf(w, "| `%s` | %s |\n", mdEscape(h.Key), mdEscape(h.Replacement))
		}
		fmt.Fprintln(w)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "> %s\n\n", mdEscape(n))
	}
}

package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/classify"
)

func classifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "classify",
		Usage:     "sort each variable of a source into feature, static, dynamic, secret or ignore, and say why",
		ArgsUsage: " ",
		Description: `Reads a source and prints every variable's class and the reason for it.
Secret values are never printed.

A source is a store URL (heroku://APP, s3://BUCKET/KEY.env, file:PATH …), a
'heroku config --json' export (*.json) or a dotenv file. Without --from, the
source of the config's app (--app, or the only app) is used.

Precedence: a credential-looking value is secret (unless allow:ed), then your
overrides:, your rules, the built-in rules, and secret when nothing matched.
Neither an override nor a rule moves a name-identified secret (DB_PASSWORD);
list it under allow: with a reason.

Every decision is strong (a token format, an exact convention, your rule) or
weak (the value's shape alone, conflicting evidence, nothing matched). The
report ends with "N decisions to review": the weak ones, weakest first.

Examples:
  heroku config --json -a acme-production > acme.json
  envsync classify --from acme.json
  envsync classify --from heroku://acme-production --explain --format markdown`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Aliases: []string{"f"}, EnvVars: []string{"ENVSYNC_FROM"}, Usage: "the source: a store URL, a *.json export or a dotenv file"},
			appFlag(),
			rulesFlag(),
			formatFlag(),
			&cli.BoolFlag{Name: "explain", Aliases: []string{"e"}, Usage: "show the rule behind each decision"},
		},
		Action: runClassify,
	}
}

func runClassify(c *cli.Context) error {
	format, err := outputFormat(c.String("format"))
	if err != nil {
		return err
	}
	if c.NArg() > 0 {
		return usageError("classify takes no arguments; use --from %s", c.Args().First())
	}
	from, explain := c.String("from"), c.Bool("explain")
	s, err := newSetup(c, from != "")
	if err != nil {
		return err
	}
	if from == "" {
		if s.cfg == nil {
			return usageError("no source: give --from SRC or a config with an app")
		}
		app, err := s.oneApp(" or give --from")
		if err != nil {
			return err
		}
		from = app.Source
	}
	src, err := envsync.OpenSource(c.Context, from, s.opts)
	if err != nil {
		return err
	}
	entries, err := envsync.ClassifySource(c.Context, src, s.cl)
	if err != nil {
		return err // errors name the file and line, or the store URL
	}
	defer s.logCalls()
	w := c.App.Writer
	switch format {
	case formatJSON:
		return writeClassifyJSON(w, from, entries)
	case formatMarkdown:
		writeClassifyMarkdown(w, from, entries, explain)
	default:
		writeClassifyText(w, from, entries, explain)
	}
	return nil
}

// shownValue is the value printed for an entry, by the display rule: JSON
// leaves a secret's value out; text shows "(sensitive)" and a fingerprint.
func shownValue(e envsync.Entry) (string, bool) {
	if envsync.Sensitive(nil, e.Class, e.Name, e.Value) {
		return envsync.Mask(e.Name, e.Value, true), false
	}
	return e.Value, true
}

type jsonVar struct {
	Name   string  `json:"name"`
	Class  string  `json:"class"`
	Rule   string  `json:"rule"`
	Reason string  `json:"reason"`
	Value  *string `json:"value,omitempty"`
	Addon  string  `json:"addon,omitempty"`
	// Confidence is "strong" or "weak" (to review).
	Confidence string `json:"confidence"`
}

// reviewJSON is one decision to review; values are never shown.
type reviewJSON struct {
	Name   string `json:"name"`
	Class  string `json:"class"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

func writeClassifyJSON(w io.Writer, from string, entries []envsync.Entry) error {
	doc := struct {
		Source string       `json:"source"`
		Vars   []jsonVar    `json:"vars"`
		Counts countsJSON   `json:"counts"`
		Review []reviewJSON `json:"review"`
	}{Source: from, Vars: []jsonVar{}, Counts: toCounts(envsync.CountClasses(entries)), Review: []reviewJSON{}}
	for _, e := range classify.ToReview(entries) {
		doc.Review = append(doc.Review, reviewJSON{Name: e.Name, Class: string(e.Class), Rule: e.Rule, Reason: e.Reason})
	}
	for _, e := range entries {
		v := jsonVar{Name: e.Name, Class: string(e.Class), Rule: e.Rule, Reason: e.Reason, Addon: e.Addon, Confidence: confidence(e)}
		if val, ok := shownValue(e); ok {
			v.Value = &val
		}
		doc.Vars = append(doc.Vars, v)
	}
	return writeJSON(w, doc)
}

// countsJSON keeps the classes in display order in JSON.
type countsJSON struct {
	Feature int `json:"feature"`
	Static  int `json:"static"`
	Dynamic int `json:"dynamic"`
	Secret  int `json:"secret"`
	Ignore  int `json:"ignore"`
}

func toCounts(m map[envsync.Class]int) countsJSON {
	return countsJSON{m[envsync.Feature], m[envsync.Static], m[envsync.Dynamic], m[envsync.Secret], m[envsync.Ignore]}
}

// byClass groups entries by class, in display order.
func byClass(entries []envsync.Entry) map[envsync.Class][]envsync.Entry {
	m := map[envsync.Class][]envsync.Entry{}
	for _, e := range entries {
		m[e.Class] = append(m[e.Class], e)
	}
	return m
}

func countsLine(entries []envsync.Entry) string {
	counts := envsync.CountClasses(entries)
	parts := make([]string, 0, len(envsync.Classes))
	for _, c := range envsync.Classes {
		parts = append(parts, fmt.Sprintf("%d %s", counts[c], c))
	}
	return fmt.Sprintf("%d variables: %s", len(entries), strings.Join(parts, ", "))
}

const maxTextValue = 48

// clip shortens a value already shown by the display rule (escaped) for a
// table cell or a line.
func clip(s string) string {
	if r := []rune(s); len(r) > maxTextValue {
		return string(r[:maxTextValue-1]) + "…"
	}
	return s
}

func note(e envsync.Entry) string {
	var n []string
	if e.Addon != "" {
		n = append(n, "add-on "+e.Addon+": on AWS another resource provides it")
	}
	if e.Class == envsync.Ignore {
		n = append(n, "Heroku sets it; nothing to move")
	}
	return strings.Join(n, "; ")
}

func confidence(e envsync.Entry) string {
	if e.NeedsReview() {
		return string(envsync.Weak)
	}
	return string(envsync.Strong)
}

func reviewHeading(n int) string {
	if n == 1 {
		return "1 decision to review"
	}
	return fmt.Sprintf("%d decisions to review", n)
}

// writeReviewText ends the text report: the weak decisions, weakest first.
func writeReviewText(w io.Writer, entries []envsync.Entry, explain bool) {
	review := classify.ToReview(entries)
	fmt.Fprintf(w, "\n%s", reviewHeading(len(review)))
	if len(review) == 0 {
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintln(w, " (weakest first; every other decision rests on strong evidence):")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, e := range review {
		reason := e.Reason
		if explain {
			reason += " [" + e.Rule + "]"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Name, e.Class, reason)
	}
	tw.Flush()
}

func writeClassifyText(w io.Writer, from string, entries []envsync.Entry, explain bool) {
	fmt.Fprintf(w, "%s: %s\n", from, countsLine(entries))
	groups := byClass(entries)
	for _, class := range envsync.Classes {
		list := groups[class]
		if len(list) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%d)\n", class, len(list))
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, e := range list {
			val, _ := shownValue(e)
			val = clip(envsync.Escape(val))
			reason := e.Reason
			if explain {
				reason += " [" + e.Rule + "]"
			}
			if n := note(e); n != "" {
				reason += " (" + n + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", envsync.ShowKey(e.Name), val, reason)
		}
		tw.Flush()
	}
	writeReviewText(w, entries, explain)
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "`", "'").Replace(s)
}

func writeClassifyMarkdown(w io.Writer, from string, entries []envsync.Entry, explain bool) {
	fmt.Fprintf(w, "### Classification of `%s`\n\n%s\n\n", mdEscape(from), countsLine(entries))
	header := "| Name | Class | Value | Reason |"
	sep := "|---|---|---|---|"
	if explain {
		header, sep = header+" Rule |", sep+"---|"
	}
	fmt.Fprintf(w, "%s\n%s\n", header, sep)
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b envsync.Entry) int {
		return slices.Index(envsync.Classes, a.Class) - slices.Index(envsync.Classes, b.Class)
	})
	for _, e := range sorted {
		val, ok := shownValue(e)
		if ok {
			val = "`" + mdEscape(clip(envsync.Escape(val))) + "`"
		} else {
			val = "_" + val + "_"
		}
		reason := e.Reason
		if n := note(e); n != "" {
			reason += " (" + n + ")"
		}
		row := fmt.Sprintf("| `%s` | %s | %s | %s |", mdEscape(envsync.ShowKey(e.Name)), e.Class, val, mdEscape(reason))
		if explain {
			row += " `" + mdEscape(e.Rule) + "` |"
		}
		fmt.Fprintln(w, row)
	}
	review := classify.ToReview(entries)
	fmt.Fprintf(w, "\n#### %s\n\n", reviewHeading(len(review)))
	if len(review) == 0 {
		fmt.Fprintln(w, "Every decision rests on strong evidence.")
		return
	}
	fmt.Fprintln(w, "Weakest first; every other decision rests on strong evidence.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Name | Class | Reason | Rule |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, e := range review {
		fmt.Fprintf(w, "| `%s` | %s | %s | `%s` |\n", mdEscape(e.Name), e.Class, mdEscape(e.Reason), mdEscape(e.Rule))
	}
}

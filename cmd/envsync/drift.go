package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/ecs"
)

func driftFlags() []cli.Flag {
	return []cli.Flag{appFlag(), rulesFlag(), formatFlag(), parallelFlag(),
		&cli.StringFlag{Name: "shard", EnvVars: []string{"ENVSYNC_SHARD"}, Usage: "K/N: check only the apps of shard K of N (for a CI matrix or several scheduled tasks); shards share the account's Heroku rate limit"},
		timeoutFlag(),
		&cli.StringFlag{Name: "notify", EnvVars: []string{"ENVSYNC_NOTIFY_URL"}, Usage: "post a summary to this Slack incoming webhook (or any URL taking Slack's JSON) on drift or error; treated as a secret"},
		&cli.BoolFlag{Name: "no-ecs", EnvVars: []string{"ENVSYNC_NO_ECS"}, Usage: "skip reading what the restart: services run"},
	}
}

func driftCommand() *cli.Command {
	return &cli.Command{
		Name:  "drift",
		Usage: "compare each app's source with every routed store and with what its ECS service runs",
		Description: `The nightly check. For each app it reports keys missing from a store (add),
values that differ (update), keys that exist only in a store (extra), and,
when the app names restart: ecs://CLUSTER/SERVICE, the parity of the app's
container with the source (see envsync parity): keys it will not see, keys
with another value, shadowed keys, keys the source lacks, an env file it does
not load, a secrets entry ECS cannot resolve, a missing service. Where the S3
env file keeps versions, each difference says who last changed the key there
(envsync flags, envsync import, or by hand). An app with phase: cutover is not
compared with its source: its flags_file (the reviewed copy) is compared with
the S3 env file, and a key changed there with envsync flags that the
flags_file does not carry yet is a note, not drift. Values of secrets are
never shown: only "(sensitive)" and a short fingerprint.

Exit codes: 0 no drift, 2 drift, 1 error (an error in any app wins; the other
apps are still checked).`,
		Flags:  driftFlags(),
		Action: runDrift,
	}
}

type driftRun struct {
	*setup
	eng      *envsync.Engine
	par      int
	timeout  time.Duration
	read     envsync.DeploymentReader
	progress func(done, total int)
	budget   *envsync.RateBudget // Heroku's, shared by the run
}

func prepareDrift(c *cli.Context) (*driftRun, error) {
	shard, noECS := c.String("shard"), c.Bool("no-ecs")
	s, err := newSetup(c, false)
	if err != nil {
		return nil, err
	}
	if shard != "" {
		k, n, err := parseShard(shard)
		if err != nil {
			return nil, err
		}
		all := len(s.apps)
		s.apps = envsync.Shard(s.apps, k, n)
		if len(s.apps) == 0 {
			warnf(c.App.ErrWriter, "shard %d/%d has none of the %d app(s); nothing to check", k, n, all)
		}
	}
	o := runOptions(c, &s.opts, "checked", len(s.apps))
	r := &driftRun{setup: s, eng: s.engine(false), par: o.Parallel, timeout: o.Timeout, progress: o.Progress, budget: s.opts.RateLimit}
	if !noECS {
		r.read = ecs.ReadDeployment
	}
	return r, nil
}

func (r *driftRun) run(ctx context.Context) []*envsync.AppDrift {
	return r.eng.DriftAll(ctx, r.cfg, r.apps, envsync.RunOptions{Parallel: r.par, Timeout: r.timeout, Progress: r.progress}, r.read)
}

func parseShard(s string) (k, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return 0, 0, usageError("--shard %q: want K/N with 1 ≤ K ≤ N, e.g. 2/4", s)
	}
	return k, n, nil
}

func runDrift(c *cli.Context) error {
	format, err := outputFormat(c.String("format"))
	if err != nil {
		return err
	}
	notifyURL := c.String("notify")
	r, err := prepareDrift(c)
	if err != nil {
		return err
	}
	defer r.logCalls()
	defer reportRateLimit(c, r.budget)
	results := r.run(c.Context)
	if err := writeDrift(c.App.Writer, format, results, r.budget); err != nil {
		return err
	}
	code := driftExitCode(results)
	for _, d := range results {
		if d.Err != nil {
			printError(c.App.ErrWriter, d.Err)
		}
	}
	if notifyURL != "" && code != exitOK {
		if err := notify(c.Context, notifyURL, results); err != nil {
			warnf(c.App.ErrWriter, "notify: %v", err)
		}
	}
	return exitCode(code)
}

func driftExitCode(results []*envsync.AppDrift) int {
	code := exitOK
	for _, d := range results {
		switch {
		case d.Err != nil:
			return exitError
		case d.Drifted():
			code = exitChanges
		}
	}
	return code
}

type driftAppJSON struct {
	App     string       `json:"app"`
	Error   *string      `json:"error"`
	Changes []changeJSON `json:"changes"`
	Notes   []string     `json:"notes,omitempty"`
	Parity  *parityJSON  `json:"parity,omitempty"`
}

// rateLimitJSON is what a run spent of the account's Heroku rate limit.
type rateLimitJSON struct {
	Used int  `json:"used"`
	Left *int `json:"left"` // null when Heroku did not say
}

func writeDrift(w io.Writer, format string, results []*envsync.AppDrift, budget *envsync.RateBudget) error {
	switch format {
	case formatJSON:
		doc := struct {
			Drift  bool           `json:"drift"`
			Apps   []driftAppJSON `json:"apps"`
			Heroku *rateLimitJSON `json:"heroku_rate_limit,omitempty"`
		}{Apps: []driftAppJSON{}}
		if budget != nil && budget.Used() > 0 {
			doc.Heroku = &rateLimitJSON{Used: budget.Used()}
			if n := budget.Left(); n >= 0 {
				doc.Heroku.Left = &n
			}
		}
		for _, d := range results {
			a := driftAppJSON{App: d.App.Name, Changes: changeList(d.Changes), Notes: d.Notes}
			if d.Parity != nil {
				pj := toParityJSON(d.Parity)
				a.Parity = &pj
			}
			if d.Err != nil {
				msg := d.Err.Error()
				a.Error = &msg
			}
			doc.Drift = doc.Drift || d.Drifted()
			doc.Apps = append(doc.Apps, a)
		}
		return writeJSON(w, doc)
	case formatMarkdown:
		for _, d := range results {
			switch {
			case d.Err != nil:
				fmt.Fprintf(w, "### %s: error\n\n%s\n\n", mdEscape(d.App.Name), mdEscape(envsync.Escape(d.Err.Error())))
			case !d.Drifted():
				fmt.Fprintf(w, "### %s: no drift\n\n", mdEscape(d.App.Name))
			default:
				fmt.Fprintf(w, "### %s: %d difference(s)\n\n", mdEscape(d.App.Name), len(d.Changes))
				if len(d.Changes) > 0 {
					fmt.Fprint(w, "| Store | Class | Key | Action | Store has | Source has |\n|---|---|---|---|---|---|\n")
					for _, ch := range d.Changes {
						old, new := mdCells(ch)
						fmt.Fprintf(w, "| `%s` | %s | `%s` | %s | %s | %s |\n", mdEscape(envsync.Escape(ch.Store)), ch.Class, mdEscape(envsync.ShowKey(ch.Key)), ch.Action, old, new)
					}
					fmt.Fprintln(w)
				}
				writeProvMarkdown(w, d.Changes)
			}
			if d.Parity != nil {
				fmt.Fprintf(w, "**Parity**: %s\n\n", mdEscape(parityHeadline(d.Parity)))
				writeParityMarkdownBody(w, d.Parity)
			}
			for _, n := range d.Notes {
				fmt.Fprintf(w, "> %s\n\n", mdEscape(envsync.Escape(n)))
			}
		}
		if s := rateLimitText(budget); s != "" {
			fmt.Fprintf(w, "Heroku rate limit: %s.\n\n", s)
		}
	default:
		for _, d := range results {
			switch {
			case d.Err != nil:
				fmt.Fprintf(w, "%s: error (see below)\n", d.App.Name)
			case !d.Drifted():
				fmt.Fprintf(w, "%s: no drift\n", d.App.Name)
			default:
				fmt.Fprintf(w, "%s: %d difference(s)\n", d.App.Name, len(d.Changes))
				writeChangesByStore(w, d.Changes)
			}
			if d.Parity != nil && d.Err == nil {
				writeParityText(w, d.Parity, "  ")
			}
			for _, n := range d.Notes {
				fmt.Fprintf(w, "  note: %s\n", envsync.Escape(n))
			}
		}
	}
	return nil
}

// notify posts a Slack-style summary: names, stores and counts only, never
// values. The URL is a secret: it is never logged or printed.
func notify(ctx context.Context, url string, results []*envsync.AppDrift) error {
	var b strings.Builder
	for _, d := range results {
		switch {
		case d.Err != nil:
			fmt.Fprintf(&b, ":x: *%s*: error: %s\n", d.App.Name, envsync.Redact(d.Err.Error()))
		case d.Drifted():
			keys := make([]string, 0, len(d.Changes))
			for _, ch := range d.Changes {
				keys = append(keys, fmt.Sprintf("%s %s (%s)", ch.Action, ch.Key, ch.Store))
			}
			if d.Parity != nil {
				for _, f := range d.Parity.Findings {
					keys = append(keys, fmt.Sprintf("%s %s (%s)", f.Action, f.Key, f.Store))
				}
			}
			fmt.Fprintf(&b, ":warning: *%s*: %d difference(s): %s\n", d.App.Name, len(d.Changes), strings.Join(keys, ", "))
		default:
			fmt.Fprintf(&b, ":white_check_mark: *%s*: no drift\n", d.App.Name)
		}
	}
	body, _ := json.Marshal(map[string]string{"text": "envsync drift\n" + b.String()})
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("bad notify URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("posting the summary failed (the URL is not shown: it is a secret)")
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the notify URL answered %s", resp.Status)
	}
	return nil
}

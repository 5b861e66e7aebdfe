package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "the pull-request guard for env files: lint the ECS format, refuse secrets, show what changes",
		ArgsUsage: "[FILE…]",
		Description: `Without files, checks the env files changed between the merge base of --base
and HEAD. ECS env files — every flags_file in the config, and the files the
--include globs match (default **/*.env) — are linted by ECS rules. Developer
dotenv files (.env, .env.development, .env.example, .env.local, .env.test,
…) are not read by ECS: they are linted by dotenv rules (DOT001 a file that
does not parse, an error; DOT002 a credential-shaped value, a warning), or
skipped with --dotenv skip. --exclude globs are never checked. Globs match
the path from the repository root (**, *, ?, [..], {a,b}).

Each ECS env file is linted against what ECS reads (codes ENV001–ENV012). Every added
or changed key is classified: a value that looks like a credential, or a key
the classifier calls secret, is an error (it belongs in Secrets Manager); a
static or dynamic key in a feature file is a warning. When the config maps
the file to an app (flags_file) and AWS credentials are present, it shows
what would change in the deployed S3 object.

On GitHub Actions (GITHUB_ACTIONS=true) findings become annotations, a report
is appended to $GITHUB_STEP_SUMMARY, and violations and changed-keys are
written to $GITHUB_OUTPUT. Values of secrets are never printed.

Exit codes: 0 no error (warnings allowed), 1 violations (at least one error
finding), 2 could not run (no git repository and no files, no merge base, a
bad config or flag, a file that cannot be read).`,
		Flags: []cli.Flag{rulesFlag(), formatFlag(),
			&cli.StringSliceFlag{Name: "include", EnvVars: []string{"ENVSYNC_CHECK_INCLUDE"}, Usage: "globs of ECS env files, from the repository root (replaces the default **/*.env; flags_file is always included)"},
			&cli.StringSliceFlag{Name: "exclude", EnvVars: []string{"ENVSYNC_CHECK_EXCLUDE"}, Usage: "globs of files never checked"},
			&cli.StringFlag{Name: "dotenv", Value: "lint", EnvVars: []string{"ENVSYNC_CHECK_DOTENV"}, Usage: "developer dotenv files (.env, .env.*): lint by dotenv rules, or skip"},
			&cli.StringFlag{Name: "base", EnvVars: []string{"ENVSYNC_BASE_REF"}, Usage: "compare with the merge base of this ref (default: origin/$GITHUB_BASE_REF, else origin/main)"},
		},
		Action: runCheck,
	}
}

// exitCheckTrouble is check's exit code when it could not run, apart from
// 1 for violations.
const exitCheckTrouble = 2

func runCheck(c *cli.Context) error {
	err := checkRun(c)
	var ex *exitCodeError
	if err == nil || errors.As(err, &ex) {
		return err
	}
	printError(c.App.ErrWriter, err)
	return exitCode(exitCheckTrouble)
}

// checkedFile is one file check reads, and how.
type checkedFile struct {
	Path string              `json:"path"`
	Kind envsync.EnvFileKind `json:"kind"`
}

func checkRun(c *cli.Context) error {
	files, baseRef := c.Args().Slice(), c.String("base")
	format, err := outputFormat(c.String("format"))
	if err != nil {
		return err
	}
	scope := envsync.CheckScope{Include: c.StringSlice("include"), Exclude: c.StringSlice("exclude")}
	switch c.String("dotenv") {
	case "lint":
	case "skip":
		scope.SkipDotenv = true
	default:
		return usageError("--dotenv: want lint or skip, got %q", c.String("dotenv"))
	}
	if err := scope.Validate(); err != nil {
		return err
	}
	s, err := newSetup(c, true)
	if err != nil {
		return err
	}
	errw, w := c.App.ErrWriter, c.App.Writer
	root, _ := gitOutput("", "rev-parse", "--show-toplevel")
	root = strings.TrimSpace(root)
	if root == "" && len(files) == 0 {
		return envsync.WithHint(errors.New("not in a git repository, so there are no changed files to check"),
			"run it in a clone of the repository (actions/checkout with fetch-depth: 0), or name the files: envsync check FILE…")
	}
	base := ""
	if root != "" {
		if base, err = mergeBase(baseRef); err != nil && len(files) == 0 {
			return err
		}
	}
	var checked []checkedFile
	if len(files) == 0 {
		if checked, err = changedEnvFiles(root, base, s.cfg, scope); err != nil {
			return err
		}
	} else {
		for _, f := range files {
			if kind := fileKind(root, f, s.cfg, scope); kind != envsync.NotEnvFile {
				checked = append(checked, checkedFile{Path: f, Kind: kind})
			} else {
				infof(errw, "skipped %s: excluded, or a developer dotenv file with --dotenv skip", f)
			}
		}
	}
	if len(checked) == 0 {
		infof(errw, "no env files changed")
	}
	var findings []envsync.Finding
	var keys []envsync.KeyCheck
	var notes []string
	for _, f := range checked {
		fs, ks, note, err := checkFile(c.Context, s, root, base, f)
		if err != nil {
			return err
		}
		findings = append(findings, fs...)
		keys = append(keys, ks...)
		notes = append(notes, note...)
	}
	errorsN := 0
	for _, f := range findings {
		if f.Severity == envsync.SevError {
			errorsN++
		}
	}
	gha := os.Getenv("GITHUB_ACTIONS") == "true"
	switch {
	case format == formatJSON:
		if err := writeCheckJSON(w, checked, findings, keys, notes, errorsN); err != nil {
			return err
		}
	case format == formatMarkdown:
		fmt.Fprint(w, checkMarkdown(len(checked), keys, findings, notes))
	case gha:
		for _, f := range findings {
			fmt.Fprintf(w, "::%s file=%s,line=%d,title=%s::%s\n", f.Severity, ghaProp(f.File), f.Line, ghaProp(f.Code), ghaData(envsync.Escape(f.Message)))
		}
	default:
		for _, f := range findings {
			fmt.Fprintf(w, "%s:%d: %s: %s: %s\n", envsync.Escape(f.File), f.Line, f.Severity, f.Code, envsync.Escape(f.Message))
		}
	}
	if format == formatText {
		for _, n := range notes {
			infof(errw, "%s", envsync.Escape(n))
		}
	}
	infof(errw, "%d file(s), %d changed key(s), %d error(s), %d warning(s)", len(checked), len(keys), errorsN, len(findings)-errorsN)
	if gha {
		if err := writeStepSummary(len(checked), keys, findings, notes); err != nil {
			return err
		}
		if err := writeOutputs(keys, errorsN); err != nil {
			return err
		}
	}
	if errorsN > 0 {
		return exitCode(exitError)
	}
	return nil
}

// fileKind is how check reads a file named on the command line (path
// relative to the current folder), by the scope: its path from the
// repository root decides.
func fileKind(root, p string, cfg *envsync.Config, scope envsync.CheckScope) envsync.EnvFileKind {
	abs, _ := filepath.Abs(p)
	rel := p
	if root != "" {
		if r, err := filepath.Rel(root, abs); err == nil && !strings.HasPrefix(r, "..") {
			rel = r
		}
	}
	return scope.Named(cfg, rel, abs)
}

type checkJSON struct {
	Files    []checkedFile     `json:"files"`
	Errors   int               `json:"errors"`
	Warnings int               `json:"warnings"`
	Findings []lintFindingJSON `json:"findings"`
	Keys     []keyCheckJSON    `json:"keys"`
	Notes    []string          `json:"notes"`
}

type lintFindingJSON struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Key      string `json:"key,omitempty"`
	Message  string `json:"message"`
}

type keyCheckJSON struct {
	File      string `json:"file"`
	Key       string `json:"key"`
	Line      int    `json:"line,omitempty"`
	Action    string `json:"action"`
	Class     string `json:"class"`
	Old       string `json:"old,omitempty"`
	New       string `json:"new,omitempty"`
	Sensitive bool   `json:"sensitive,omitempty"`
	Verdict   string `json:"verdict"`
}

func writeCheckJSON(w io.Writer, files []checkedFile, findings []envsync.Finding, keys []envsync.KeyCheck, notes []string, errs int) error {
	doc := checkJSON{Files: append([]checkedFile{}, files...), Errors: errs, Warnings: len(findings) - errs, Findings: []lintFindingJSON{}, Keys: []keyCheckJSON{}, Notes: append([]string{}, notes...)}
	for _, f := range findings {
		doc.Findings = append(doc.Findings, lintFindingJSON{File: f.File, Line: f.Line, Severity: string(f.Severity), Code: f.Code, Key: f.Key, Message: f.Message})
	}
	for _, k := range keys {
		j := keyCheckJSON{File: k.File, Key: k.Key, Line: k.Line, Action: string(k.Action), Class: string(k.Class), Sensitive: k.Sensitive, Verdict: k.Verdict}
		if k.Old != "" {
			j.Old = envsync.Mask(k.Key, k.Old, k.Sensitive)
		}
		if k.New != "" {
			j.New = envsync.Mask(k.Key, k.New, k.Sensitive)
		}
		doc.Keys = append(doc.Keys, j)
	}
	return writeJSON(w, doc)
}

// Workflow command escaping, as the runner does it
// (https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts).
func ghaData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghaProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func mergeBase(ref string) (string, error) {
	var candidates []string
	if ref != "" {
		candidates = []string{ref}
	} else {
		if b := os.Getenv("GITHUB_BASE_REF"); b != "" {
			candidates = append(candidates, "origin/"+b, b)
		}
		candidates = append(candidates, "origin/main", "main", "origin/master", "master")
	}
	var lastErr error
	for _, r := range candidates {
		out, err := gitOutput("", "merge-base", r, "HEAD")
		if err == nil {
			return strings.TrimSpace(out), nil
		}
		lastErr = err
	}
	return "", envsync.WithHint(fmt.Errorf("no merge base with %s: %w", strings.Join(candidates, " or "), lastErr),
		"fetch the base branch (actions/checkout with fetch-depth: 0) or pass --base REF")
}

// changedEnvFiles lists the env files changed between base and HEAD, as
// paths relative to the current folder.
func changedEnvFiles(root, base string, cfg *envsync.Config, scope envsync.CheckScope) ([]checkedFile, error) {
	out, err := gitOutput(root, "diff", "--name-only", "--diff-filter=ACMR", base, "HEAD")
	if err != nil {
		return nil, err
	}
	cwd, _ := os.Getwd()
	var files []checkedFile
	for _, rel := range strings.Split(strings.TrimSpace(out), "\n") {
		if rel == "" {
			continue
		}
		abs := filepath.Join(root, rel)
		if kind := scope.Kind(cfg, rel, abs); kind != envsync.NotEnvFile {
			if r, err := filepath.Rel(cwd, abs); err == nil {
				abs = r
			}
			files = append(files, checkedFile{Path: abs, Kind: kind})
		}
	}
	return files, nil
}

func checkFile(ctx context.Context, s *setup, root, base string, cf checkedFile) ([]envsync.Finding, []envsync.KeyCheck, []string, error) {
	path := cf.Path
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	display := path
	abs, _ := filepath.Abs(path)
	if root != "" {
		if r, err := filepath.Rel(root, abs); err == nil && !strings.HasPrefix(r, "..") {
			display = r // annotations need repository-relative paths
		}
	}
	var old []byte
	if base != "" && root != "" {
		if prev, err := gitOutput(root, "show", base+":"+filepath.ToSlash(display)); err == nil {
			old = []byte(prev)
		}
	}
	if cf.Kind == envsync.DotenvFile {
		return envsync.CheckDotenvChange(display, old, data, s.cl), nil, nil, nil
	}
	findings, keys := envsync.CheckEnvChange(display, old, data, s.cl)
	notes, reverts := deployedDiff(ctx, s, abs, display, data)
	return append(findings, reverts...), keys, notes, nil
}

// deployedDiff says what merging the file would do to the deployed S3
// object of the app whose flags_file it is, when AWS credentials are
// present: exactly what flags apply does after the merge (as the example
// workflow runs it: without --prune or --overwrite-flags) — the changes it
// writes, the keys only in S3 it leaves alone, and every live flag change
// (made with envsync flags) it holds because merging would revert it, each
// a finding.
func deployedDiff(ctx context.Context, s *setup, abs, display string, data []byte) ([]string, []envsync.Finding) {
	app := envsync.FlagsFileApp(s.cfg, abs)
	if app == nil || app.Routes[envsync.Feature] == "" {
		return nil, nil
	}
	url := app.Routes[envsync.Feature]
	if !hasAWSCredentials() {
		return []string{fmt.Sprintf("%s: skipped comparing with %s: no AWS credentials", display, url)}, nil
	}
	vars, lint, err := envsync.ReadReviewed(display, data)
	var pe *envsync.PosError
	if len(lint) > 0 || errors.As(err, &pe) && pe.File == display {
		// the lint findings already say what is wrong with the file
		return []string{fmt.Sprintf("%s: merging changes nothing in %s (app %s): envsync flags apply refuses a file with errors", display, url, app.Name)}, nil
	}
	if err != nil {
		return []string{fmt.Sprintf("%s: cannot compare with %s: %v", display, url, err)}, nil
	}
	fl, err := envsync.OpenFlags(ctx, s.cfg, app, s.cl, s.opts)
	if err != nil {
		return []string{fmt.Sprintf("%s: cannot compare with %s: %v", display, url, err)}, nil
	}
	if err := fl.CheckAll(vars); err != nil {
		return []string{fmt.Sprintf("%s: merging changes nothing in %s (app %s): envsync flags apply refuses the file: %v", display, url, app.Name, err)}, nil
	}
	r, err := fl.PlanReviewed(ctx, vars, false, false)
	if err != nil {
		return []string{fmt.Sprintf("%s: cannot compare with %s: %v", display, url, err)}, nil
	}
	var notes []string
	if len(r.Changes) == 0 {
		notes = append(notes, fmt.Sprintf("%s: merging changes nothing in %s", display, url))
	} else {
		lines := make([]string, len(r.Changes))
		for i, ch := range r.Changes {
			lines[i] = changeText(ch)
		}
		notes = append(notes, fmt.Sprintf("%s: merging changes %s (app %s): %s", display, url, app.Name, strings.Join(lines, "; ")))
	}
	if len(r.Held) > 0 {
		notes = append(notes, fmt.Sprintf("%s: merging would revert %d live flag change(s) in %s, which envsync flags apply holds (FLG001; --overwrite-flags writes them): %s",
			display, len(r.Held), url, keyList(r.Held)))
	}
	if len(r.Extra) > 0 {
		notes = append(notes, fmt.Sprintf("%s: merging leaves alone %d key(s) only in %s (envsync flags apply --prune deletes them): %s",
			display, len(r.Extra), url, keyList(r.Extra)))
	}
	return notes, fl.RevertFindings(display, data, r.Held)
}

// hasAWSCredentials is a cheap look at the standard chain's sources, with no call.
func hasAWSCredentials() bool {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	home, _ := os.UserHomeDir()
	_, err := os.Stat(filepath.Join(home, ".aws", "credentials"))
	return err == nil
}

// mdValue is a value already shown by the display rule, as markdown code;
// empty when the value is absent.
func mdValue(raw, shown string) string {
	if raw == "" {
		return ""
	}
	return "`" + mdEscape(shown) + "`"
}

func writeStepSummary(files int, keys []envsync.KeyCheck, findings []envsync.Finding, notes []string) error {
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	return appendFile(path, checkMarkdown(files, keys, findings, notes))
}

// checkMarkdown is check's report in markdown: --format markdown and the
// job summary.
func checkMarkdown(files int, keys []envsync.KeyCheck, findings []envsync.Finding, notes []string) string {
	var b strings.Builder
	errs := 0
	for _, f := range findings {
		if f.Severity == envsync.SevError {
			errs++
		}
	}
	verdict := "passed"
	if errs > 0 {
		verdict = fmt.Sprintf("failed: %d error(s)", errs)
	}
	fmt.Fprintf(&b, "## envsync check: %s\n\n", verdict)
	if len(keys) > 0 {
		fmt.Fprint(&b, "| File | Key | Class | Old → New | Verdict |\n|---|---|---|---|---|\n")
		for _, k := range keys {
			old, new := envsync.ShowPair(k.Key, k.Old, k.New, k.Sensitive)
			change := mdValue(k.Old, old) + " → " + mdValue(k.New, new)
			if k.Action == envsync.Delete {
				change = mdValue(k.Old, old) + " → (removed)"
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", mdEscape(envsync.Escape(k.File)), mdEscape(envsync.ShowKey(k.Key)), k.Class, change, k.Verdict)
		}
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "No changed keys in %d file(s).\n\n", files)
	}
	if len(findings) > 0 {
		b.WriteString("| Where | Severity | Code | Finding |\n|---|---|---|---|\n")
		for _, f := range findings {
			fmt.Fprintf(&b, "| `%s:%d` | %s | %s | %s |\n", mdEscape(envsync.Escape(f.File)), f.Line, f.Severity, f.Code, mdEscape(envsync.Escape(f.Message)))
		}
		b.WriteString("\n")
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "> %s\n\n", mdEscape(envsync.Escape(n)))
	}
	return b.String()
}

// writeOutputs sets violations and changed-keys for later steps, with the
// multi-line delimiter syntax of $GITHUB_OUTPUT.
func writeOutputs(keys []envsync.KeyCheck, errs int) error {
	path := os.Getenv("GITHUB_OUTPUT")
	if path == "" {
		return nil
	}
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		names = append(names, envsync.ShowKey(k.Key))
	}
	rnd := make([]byte, 8)
	rand.Read(rnd)
	delim := "ENVSYNC_" + hex.EncodeToString(rnd)
	return appendFile(path, fmt.Sprintf("violations=%d\nchanged-keys<<%s\n%s\n%s\n", errs, delim, strings.Join(names, "\n"), delim))
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, s)
	return errors.Join(err, f.Close())
}

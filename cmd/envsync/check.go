package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/classify"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "the pull-request guard for env files: lint the ECS format, refuse secrets, show what changes",
		ArgsUsage: "[FILE…]",
		Description: `Without files, checks the env files changed between the merge base of --base
and HEAD: *.env, .env*, and every flags_file in the config.

Each file is linted against what ECS reads (codes ENV001–ENV012). Every added
or changed key is classified: a value that looks like a credential, or a key
the classifier calls secret, is an error (it belongs in Secrets Manager); a
static or dynamic key in a feature file is a warning. When the config maps
the file to an app (flags_file) and AWS credentials are present, it shows
what would change in the deployed S3 object.

On GitHub Actions (GITHUB_ACTIONS=true) findings become annotations, a report
is appended to $GITHUB_STEP_SUMMARY, and violations and changed-keys are
written to $GITHUB_OUTPUT. Exit 1 when there is any error. Values of secrets
are never printed.`,
		Flags: []cli.Flag{rulesFlag(),
			&cli.StringFlag{Name: "base", EnvVars: []string{"ENVSYNC_BASE_REF"}, Usage: "compare with the merge base of this ref (default: origin/$GITHUB_BASE_REF, else origin/main)"},
		},
		Action: runCheck,
	}
}

// Classification finding codes (the lint codes are in envlint.go).
const (
	codeCredential = "SEC001" // the value looks like a credential
	codeSecretKey  = "SEC002" // the classifier calls the key secret
	codeWrongClass = "CLS001" // a static or dynamic key in a feature file
)

type checkedKey struct {
	File, Key       string
	Line            int
	Old, New        string
	Class           envsync.Class
	Sensitive, Gone bool
	Verdict         string
}

func runCheck(c *cli.Context) error {
	cfg, err := loadConfig(c, true)
	if err != nil {
		return err
	}
	cl, err := loadClassifier(c, cfg)
	if err != nil {
		return err
	}
	root, _ := gitOutput("", "rev-parse", "--show-toplevel")
	root = strings.TrimSpace(root)
	files := c.Args().Slice()
	base := ""
	if root != "" {
		if base, err = mergeBase(c.String("base")); err != nil && len(files) == 0 {
			return err
		}
	}
	if len(files) == 0 {
		if files, err = changedEnvFiles(root, base, cfg); err != nil {
			return err
		}
	}
	if len(files) == 0 {
		fmt.Fprintln(c.App.ErrWriter, "envsync: no env files changed")
	}
	var findings []envsync.Finding
	var keys []checkedKey
	var notes []string
	for _, f := range files {
		fs, ks, note, err := checkFile(c, cl, cfg, root, base, f)
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
	w := c.App.Writer
	for _, f := range findings {
		if gha {
			fmt.Fprintf(w, "::%s file=%s,line=%d,title=%s::%s\n", f.Severity, ghaProp(f.File), f.Line, ghaProp(f.Code), ghaData(f.Message))
		} else {
			fmt.Fprintf(w, "%s:%d: %s: %s\n", f.File, f.Line, f.Code, f.Message)
		}
	}
	for _, n := range notes {
		fmt.Fprintf(c.App.ErrWriter, "envsync: %s\n", n)
	}
	fmt.Fprintf(c.App.ErrWriter, "envsync: %d file(s), %d changed key(s), %d error(s), %d warning(s)\n", len(files), len(keys), errorsN, len(findings)-errorsN)
	if gha {
		if err := writeStepSummary(files, keys, findings, notes); err != nil {
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
func changedEnvFiles(root, base string, cfg *envsync.Config) ([]string, error) {
	out, err := gitOutput(root, "diff", "--name-only", "--diff-filter=ACMR", base, "HEAD")
	if err != nil {
		return nil, err
	}
	flagsFiles := map[string]bool{}
	if cfg != nil {
		for _, a := range cfg.Apps {
			if a.FlagsFile != "" {
				flagsFiles[a.FlagsFile] = true
			}
		}
	}
	cwd, _ := os.Getwd()
	var files []string
	for _, rel := range strings.Split(strings.TrimSpace(out), "\n") {
		if rel == "" {
			continue
		}
		abs := filepath.Join(root, rel)
		name := filepath.Base(rel)
		if strings.HasSuffix(name, ".env") || strings.HasPrefix(name, ".env") || flagsFiles[abs] {
			if r, err := filepath.Rel(cwd, abs); err == nil {
				abs = r
			}
			files = append(files, abs)
		}
	}
	return files, nil
}

// lineVars maps each key to its value and line, the way ECS reads the file.
func lineVars(data []byte) map[string]checkedKey {
	out := map[string]checkedKey{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(k), "export "))
		if !ok || k == "" {
			continue
		}
		out[k] = checkedKey{Key: k, New: v, Line: i + 1}
	}
	return out
}

func checkFile(c *cli.Context, cl *classify.Classifier, cfg *envsync.Config, root, base, path string) ([]envsync.Finding, []checkedKey, []string, error) {
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
	findings := envsync.LintEnvFile(display, data)
	old := map[string]checkedKey{}
	if base != "" && root != "" {
		if prev, err := gitOutput(root, "show", base+":"+filepath.ToSlash(display)); err == nil {
			old = lineVars([]byte(prev))
		}
	}
	cur := lineVars(data)
	var keys []checkedKey
	for _, k := range slices.Sorted(maps.Keys(cur)) {
		ck := cur[k]
		ck.File = display
		o, had := old[k]
		if had && o.New == ck.New {
			continue
		}
		ck.Old = o.New
		ck.Verdict = "ok"
		if id, reason, ok := classify.DetectValue(ck.New); ok {
			ck.Class, ck.Sensitive, ck.Verdict = envsync.Secret, true, "error: credential"
			findings = append(findings, envsync.Finding{File: display, Line: ck.Line, Code: codeCredential, Severity: envsync.SevError, Key: k,
				Message: fmt.Sprintf("%s: %s (%s): never commit it; put it in Secrets Manager and route the secret class there", k, reason, id)})
		} else {
			d := cl.Classify(envsync.Var{Name: k, Value: ck.New})
			ck.Class = d.Class
			switch d.Class {
			case envsync.Secret:
				ck.Sensitive, ck.Verdict = true, "error: secret"
				findings = append(findings, envsync.Finding{File: display, Line: ck.Line, Code: codeSecretKey, Severity: envsync.SevError, Key: k,
					Message: fmt.Sprintf("%s is classified secret (%s): put it in Secrets Manager, not in an env file in git", k, d.Reason)})
			case envsync.Static, envsync.Dynamic:
				ck.Verdict = "warning: " + string(d.Class)
				findings = append(findings, envsync.Finding{File: display, Line: ck.Line, Code: codeWrongClass, Severity: envsync.SevWarning, Key: k,
					Message: fmt.Sprintf("%s is %s (%s): it belongs in tfvars, not in the feature env file", k, d.Class, d.Reason)})
			}
		}
		keys = append(keys, ck)
	}
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if _, ok := cur[k]; !ok {
			keys = append(keys, checkedKey{File: display, Key: k, Old: old[k].New, Gone: true, Verdict: "removed", Class: cl.Classify(envsync.Var{Name: k, Value: old[k].New}).Class})
		}
	}
	slices.SortStableFunc(findings, func(a, b envsync.Finding) int { return a.Line - b.Line })
	notes := deployedDiff(c, cfg, abs, display, data)
	return findings, keys, notes, nil
}

// deployedDiff says what merging the file would change in the deployed S3
// object of the app whose flags_file it is, when AWS credentials are present.
func deployedDiff(c *cli.Context, cfg *envsync.Config, abs, display string, data []byte) []string {
	if cfg == nil {
		return nil
	}
	for _, app := range cfg.Apps {
		if app.FlagsFile != abs {
			continue
		}
		url, ok := app.Routes[envsync.Feature]
		if !ok {
			return nil
		}
		if !hasAWSCredentials() {
			return []string{fmt.Sprintf("%s: skipped comparing with %s: no AWS credentials", display, url)}
		}
		opts, _ := openOptions()
		opts.BaseDir = cfg.Dir
		st, err := envsync.Open(c.Context, url, opts)
		if err != nil {
			return []string{fmt.Sprintf("%s: cannot compare with %s: %v", display, url, err)}
		}
		snap, err := st.Read(c.Context)
		if err != nil {
			return []string{fmt.Sprintf("%s: cannot compare with %s: %v", display, url, err)}
		}
		vars, err := envsync.ParseEnvFile(display, data)
		if err != nil {
			return nil
		}
		lines := diffLines(mask(snap.Vars), mask(vars))
		if len(lines) == 0 {
			return []string{fmt.Sprintf("%s: merging changes nothing in %s", display, url)}
		}
		return []string{fmt.Sprintf("%s: merging changes %s (app %s): %s", display, url, app.Name, strings.Join(lines, "; "))}
	}
	return nil
}

// mask replaces credential-looking values, so a diff never shows one.
func mask(vars map[string]string) map[string]string {
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		if _, _, cred := classify.DetectValue(v); cred {
			v = "(sensitive) " + envsync.Fingerprint(k, v)
		}
		out[k] = v
	}
	return out
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

func showValue(k checkedKey, v string) string {
	if v == "" {
		return ""
	}
	if k.Sensitive || k.Class == envsync.Secret {
		return "(sensitive)"
	}
	return "`" + mdEscape(clip(v)) + "`"
}

func writeStepSummary(files []string, keys []checkedKey, findings []envsync.Finding, notes []string) error {
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
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
			change := showValue(k, k.Old) + " → " + showValue(k, k.New)
			if k.Gone {
				change = showValue(k, k.Old) + " → (removed)"
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", mdEscape(k.File), mdEscape(k.Key), k.Class, change, k.Verdict)
		}
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "No changed keys in %d file(s).\n\n", len(files))
	}
	if len(findings) > 0 {
		b.WriteString("| Where | Code | Finding |\n|---|---|---|\n")
		for _, f := range findings {
			fmt.Fprintf(&b, "| `%s:%d` | %s | %s |\n", mdEscape(f.File), f.Line, f.Code, mdEscape(f.Message))
		}
		b.WriteString("\n")
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "> %s\n\n", mdEscape(n))
	}
	return appendFile(path, b.String())
}

// writeOutputs sets violations and changed-keys for later steps, with the
// multi-line delimiter syntax of $GITHUB_OUTPUT.
func writeOutputs(keys []checkedKey, errs int) error {
	path := os.Getenv("GITHUB_OUTPUT")
	if path == "" {
		return nil
	}
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		names = append(names, k.Key)
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

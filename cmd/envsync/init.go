package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/heroku"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "write envsync.yaml for every Heroku app of the account, a team or a pipeline",
		ArgsUsage: " ",
		Description: `Lists the apps Heroku knows (all the account sees, --team's, or --pipeline's
stages), writes a commented config whose defaults: hold the route templates
once, so each app is one line, classifies each app's variables and prints
how many fall in each class and how many decisions need review, and the
IAM policy envsync import needs for the new config. Secret values are never
printed.

In templates, {app} is the app's name and {stage} its pipeline stage.

Examples:
  envsync init --team acme --bucket acme-env \
      --tfvars 'infra/{app}/app_env.auto.tfvars' --secrets 'acme/{app}' \
      --restart 'ecs://acme/{app}'
  envsync init --pipeline checkout --bucket acme-env --tfvars 'infra/{stage}/app.auto.tfvars' \
      --secrets 'acme/{stage}' --restart 'ecs://acme-{stage}/web'`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "team", EnvVars: []string{"ENVSYNC_TEAM"}, Usage: "only the apps of this Heroku team"},
			&cli.StringFlag{Name: "pipeline", EnvVars: []string{"ENVSYNC_PIPELINE"}, Usage: "only the apps of this Heroku pipeline's stages"},
			&cli.StringFlag{Name: "bucket", EnvVars: []string{"ENVSYNC_INIT_BUCKET"}, Usage: "route feature to s3://BUCKET/{app}/feature.env"},
			&cli.StringFlag{Name: "feature", EnvVars: []string{"ENVSYNC_INIT_FEATURE"}, Usage: "route feature to this store URL template instead (s3://… or file:…)"},
			&cli.StringFlag{Name: "tfvars", EnvVars: []string{"ENVSYNC_INIT_TFVARS"}, Usage: "route static and dynamic to this tfvars file template (variables app_static_env, app_dynamic_env)"},
			&cli.StringFlag{Name: "secrets", EnvVars: []string{"ENVSYNC_INIT_SECRETS"}, Usage: "route secret to this Secrets Manager name template"},
			&cli.StringFlag{Name: "restart", EnvVars: []string{"ENVSYNC_INIT_RESTART"}, Usage: "the ECS service template to roll after a flag change: ecs://CLUSTER/SERVICE"},
			&cli.StringFlag{Name: "flags-file", EnvVars: []string{"ENVSYNC_INIT_FLAGS_FILE"}, Usage: "the reviewed copy of the feature env file in git, template"},
			rulesFlag(),
			formatFlag(),
			&cli.IntFlag{Name: "parallel", Aliases: []string{"p"}, Value: 8, EnvVars: []string{"ENVSYNC_PARALLEL"}, Usage: "classify this many apps at once"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing config file"},
		},
		Action: runInit,
	}
}

func runInit(c *cli.Context) error {
	format, err := outputFormat(c.String("format"))
	if err != nil {
		return err
	}
	if c.NArg() > 0 {
		return usageError("init takes no arguments, got %s", argText(c.Args().First()))
	}
	if c.String("team") != "" && c.String("pipeline") != "" {
		return usageError("give --team or --pipeline, not both")
	}
	path := c.String("config")
	if _, err := os.Stat(path); err == nil && !c.Bool("force") {
		return envsync.WithHint(fmt.Errorf("%s already exists; nothing was written", path), "add --force to replace it, or --config to write another file")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	rulesRel := ""
	if r := c.String("rules"); r != "" {
		if rulesRel, err = relTo(filepath.Dir(abs), r); err != nil {
			return err
		}
	}
	opts := envsync.InitOptions{
		Bucket: c.String("bucket"), Feature: c.String("feature"), Tfvars: c.String("tfvars"),
		Secrets: c.String("secrets"), Restart: c.String("restart"), FlagsFile: c.String("flags-file"),
		Rules: rulesRel, Command: initCommandLine(c),
	}
	// Templates are checked before any call.
	if _, err := envsync.GenerateConfig(c.Context, path, []envsync.InitApp{{Name: "app", Stage: "production"}}, opts, nil); err != nil {
		return err
	}
	cl, err := loadClassifier(c.String("rules"), nil)
	if err != nil {
		return err
	}
	// No config yet: the set-up is the classifier and the counted client.
	s := &setup{cl: cl, calls: &envsync.CallCounter{}, log: logger(c)}
	// Every app is read from Heroku: pace by the account's rate limit, as plan and drift do.
	openOpts := envsync.OpenOptions{HTTPClient: s.calls.Client(), RateLimit: newHerokuBudget(1)}
	defer s.logCalls()
	defer reportRateLimit(c, openOpts.RateLimit)
	apps, err := heroku.ListApps(c.Context, c.String("team"), c.String("pipeline"), openOpts)
	if err != nil {
		return err
	}
	summaries := envsync.SummarizeApps(c.Context, apps, func(a envsync.InitApp) (envsync.Source, error) {
		return envsync.OpenSource(c.Context, "heroku://"+a.Name, openOpts)
	}, cl, c.Int("parallel"))
	data, err := envsync.GenerateConfig(c.Context, path, apps, opts, summaries)
	if err != nil {
		return err
	}
	cfg, err := envsync.ParseConfig(path, data)
	if err != nil {
		return err
	}
	policy, err := envsync.IAMPolicy(cfg.Apps, envsync.IAMUse{Command: "import"})
	if err != nil && !errors.Is(err, envsync.ErrNotFound) {
		return err
	}
	if err := writeFileAtomic(path, data, c.Bool("force")); err != nil {
		return err
	}
	for _, sum := range summaries {
		if sum.Err != nil {
			warnf(c.App.ErrWriter, "%s: not classified: %v", sum.App.Name, sum.Err)
		}
	}
	infof(c.App.ErrWriter, "wrote %s: %d apps", path, len(apps))
	hintf(c.App.ErrWriter, "review the decisions with envsync classify --from heroku://APP --explain, then run envsync plan")
	w := c.App.Writer
	switch format {
	case formatJSON:
		return writeInitJSON(w, path, summaries, policy)
	case formatMarkdown:
		writeInitMarkdown(w, summaries, policy)
	default:
		writeInitText(w, summaries, policy)
	}
	return nil
}

// initCommandLine is the command as the config's header records it.
func initCommandLine(c *cli.Context) string {
	parts := []string{"envsync init"}
	for _, f := range []string{"team", "pipeline"} {
		if v := c.String(f); v != "" {
			parts = append(parts, "--"+f+" "+v)
		}
	}
	return strings.Join(parts, " ")
}

func relTo(dir, p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		return abs, nil
	}
	return filepath.ToSlash(rel), nil
}

// writeFileAtomic writes a temp file beside path and renames it, so a
// failed run leaves nothing half-written; without replace, an existing file
// is never overwritten.
func writeFileAtomic(path string, data []byte, replace bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".envsync-init-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if !replace {
		// Link fails when path exists: no race with another writer.
		if err := os.Link(tmp.Name(), path); err != nil {
			if errors.Is(err, os.ErrExist) {
				return envsync.WithHint(fmt.Errorf("%s already exists; nothing was written", path), "add --force to replace it")
			}
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	}
	return os.Rename(tmp.Name(), path)
}

func writeInitText(w io.Writer, summaries []envsync.InitSummary, policy *envsync.Policy) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tSTAGE\tVARS\tFEATURE\tSTATIC\tDYNAMIC\tSECRET\tIGNORE\tREVIEW\tADD-ON")
	total := envsync.InitSummary{Classes: map[envsync.Class]int{}}
	for _, s := range summaries {
		stage := s.App.Stage
		if stage == "" {
			stage = "-"
		}
		if s.Err != nil {
			fmt.Fprintf(tw, "%s\t%s\tnot read\t\t\t\t\t\t\t\n", s.App.Name, stage)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", s.App.Name, stage, s.Vars,
			s.Classes[envsync.Feature], s.Classes[envsync.Static], s.Classes[envsync.Dynamic], s.Classes[envsync.Secret], s.Classes[envsync.Ignore], s.Review, s.Addon)
		total.Vars += s.Vars
		total.Review += s.Review
		total.Addon += s.Addon
		for k, v := range s.Classes {
			total.Classes[k] += v
		}
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", total.Vars,
		total.Classes[envsync.Feature], total.Classes[envsync.Static], total.Classes[envsync.Dynamic], total.Classes[envsync.Secret], total.Classes[envsync.Ignore], total.Review, total.Addon)
	tw.Flush()
	if policy != nil {
		fmt.Fprintln(w, "\nIAM policy for envsync plan and import with this config:")
		w.Write(policy.JSON())
	}
}

func writeInitMarkdown(w io.Writer, summaries []envsync.InitSummary, policy *envsync.Policy) {
	fmt.Fprintln(w, "| app | stage | vars | feature | static | dynamic | secret | ignore | review | add-on |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range summaries {
		if s.Err != nil {
			fmt.Fprintf(w, "| %s | %s | not read | | | | | | | |\n", s.App.Name, s.App.Stage)
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %d | %d | %d | %d | %d |\n", s.App.Name, s.App.Stage, s.Vars,
			s.Classes[envsync.Feature], s.Classes[envsync.Static], s.Classes[envsync.Dynamic], s.Classes[envsync.Secret], s.Classes[envsync.Ignore], s.Review, s.Addon)
	}
	if policy != nil {
		fmt.Fprintln(w, "\nIAM policy for `envsync plan` and `envsync import` with this config:\n\n```json")
		w.Write(policy.JSON())
		fmt.Fprintln(w, "```")
	}
}

func writeInitJSON(w io.Writer, path string, summaries []envsync.InitSummary, policy *envsync.Policy) error {
	type jsonApp struct {
		App     string         `json:"app"`
		Team    string         `json:"team,omitempty"`
		Stage   string         `json:"stage,omitempty"`
		Vars    int            `json:"vars"`
		Classes map[string]int `json:"classes"`
		Review  int            `json:"review"`
		Addon   int            `json:"addon"`
		Error   string         `json:"error,omitempty"`
	}
	doc := struct {
		Config string          `json:"config"`
		Apps   []jsonApp       `json:"apps"`
		IAM    json.RawMessage `json:"iam_import_policy,omitempty"`
	}{Config: path, Apps: []jsonApp{}}
	for _, s := range summaries {
		a := jsonApp{App: s.App.Name, Team: s.App.Team, Stage: s.App.Stage, Vars: s.Vars, Classes: map[string]int{}, Review: s.Review, Addon: s.Addon}
		for _, c := range envsync.Classes {
			a.Classes[string(c)] = s.Classes[c]
		}
		if s.Err != nil {
			a.Error = s.Err.Error()
		}
		doc.Apps = append(doc.Apps, a)
	}
	if policy != nil {
		doc.IAM, _ = json.Marshal(policy)
	}
	return writeJSON(w, doc)
}

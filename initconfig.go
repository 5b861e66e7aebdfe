package envsync

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
	"gopkg.in/yaml.v3"
)

// InitApp is an app envsync init found on Heroku.
type InitApp struct {
	Name string
	Team string // the team that owns it, or ""
	// Pipeline and Stage: the pipeline and stage it is coupled to, or "".
	Pipeline, Stage string
}

// StagePlaceholder in an init template is replaced by the app's pipeline
// stage; a field that uses it is written on each app, not under defaults:.
const StagePlaceholder = "{stage}"

// InitOptions are the templates of `envsync init`. {app} is each app's name
// and {stage} its pipeline stage. Empty fields are left out of the config.
type InitOptions struct {
	// Bucket routes feature to s3://BUCKET/{app}/feature.env unless Feature is set.
	Bucket string
	// Feature is the feature route (s3://… or file:…).
	Feature string
	// Tfvars is a path: static goes to PATH#app_static_env, dynamic to PATH#app_dynamic_env.
	Tfvars string
	// Secrets is a Secrets Manager name (or a full secretsmanager:// URL).
	Secrets string
	// Restart is the ECS service to roll after a flag change: ecs://CLUSTER/SERVICE.
	Restart string
	// FlagsFile is the reviewed copy of the feature env file in git.
	FlagsFile string
	// Rules is the user's rule file, written as rules:.
	Rules string
	// Command is how the config was made, for its header comment.
	Command string
}

// fields returns the templates by config field (routes.CLASS for routes),
// in the order they are written.
func (o InitOptions) fields() ([]initField, error) {
	var fs []initField
	add := func(key, comment, value string) { fs = append(fs, initField{key, comment, value}) }
	add("source", "where each app's variables come from", "heroku://"+AppPlaceholder)
	feature := o.Feature
	if feature == "" && o.Bucket != "" {
		feature = "s3://" + strings.TrimSuffix(strings.TrimPrefix(o.Bucket, "s3://"), "/") + "/" + AppPlaceholder + "/feature.env"
	}
	if feature != "" {
		add("routes.feature", "flags and switches: an ECS env file, changed with envsync flags", feature)
	}
	if o.Tfvars != "" {
		path := strings.TrimPrefix(o.Tfvars, "tfvars:")
		if strings.Contains(path, "#") {
			return nil, WithHint(fmt.Errorf("%w: --tfvars %q: give the file only", ErrInvalid, o.Tfvars),
				"static goes to FILE#app_static_env and dynamic to FILE#app_dynamic_env")
		}
		add("routes.static", "fixed when the environment is built: Terraform variables", "tfvars:"+path+"#app_static_env")
		add("routes.dynamic", "sized by the environment: Terraform variables", "tfvars:"+path+"#app_dynamic_env")
	}
	if o.Secrets != "" {
		s := o.Secrets
		if !strings.HasPrefix(s, "secretsmanager://") {
			s = "secretsmanager://" + s
		}
		add("routes.secret", "credentials: one Secrets Manager secret per app", s)
	}
	if o.Restart != "" {
		add("restart", "the ECS service to roll after a flag change, and to check for drift", o.Restart)
	}
	if o.FlagsFile != "" {
		add("flags_file", "the reviewed copy of the feature env file in git", o.FlagsFile)
	}
	if len(fs) == 1 {
		return nil, WithHint(fmt.Errorf("%w: no routes: every variable would stay unrouted", ErrInvalid),
			"give --bucket (or --feature), --tfvars and --secrets")
	}
	return fs, nil
}

type initField struct{ key, comment, value string }

func (f initField) expand(a InitApp) string {
	return strings.NewReplacer(AppPlaceholder, a.Name, StagePlaceholder, a.Stage).Replace(f.value)
}

// InitSummary is what classify found in one app's variables.
type InitSummary struct {
	App     InitApp
	Vars    int
	Classes map[Class]int
	// Review counts decisions a person should look at (NeedsReview).
	Review int
	// Addon counts variables owned by a Heroku add-on.
	Addon int
	// Err is why the app could not be read, or nil.
	Err error
}

// SummarizeApps reads each app's source (sourceOf gives it) and classifies
// its variables, parallel apps at a time. A failed read is kept in that
// app's Err; the other apps are still read.
func SummarizeApps(ctx context.Context, apps []InitApp, sourceOf func(InitApp) (Source, error), cl Classifier, parallel int) []InitSummary {
	out := make([]InitSummary, len(apps))
	var g errgroup.Group
	g.SetLimit(max(parallel, 1))
	for i, a := range apps {
		g.Go(func() error {
			s := InitSummary{App: a, Classes: map[Class]int{}}
			src, err := sourceOf(a)
			if err == nil {
				var entries []Entry
				entries, err = ClassifySource(ctx, src, cl)
				for _, e := range entries {
					s.Vars++
					s.Classes[e.Class]++
					if e.NeedsReview() {
						s.Review++
					}
					if e.Addon != "" {
						s.Addon++
					}
				}
			}
			s.Err = err
			out[i] = s
			return nil
		})
	}
	g.Wait()
	return out
}

// GenerateConfig writes a commented envsync.yaml for apps: fields that only
// use {app} go under defaults: once, so each app is one line; fields that use
// {stage} are written on each app. The result is parsed back (as path) and
// every route opened (no call) before it is returned; two apps sharing one
// store is an error.
func GenerateConfig(ctx context.Context, path string, apps []InitApp, opts InitOptions, summaries []InitSummary) ([]byte, error) {
	if len(apps) == 0 {
		return nil, WithHint(fmt.Errorf("%w: no apps found", ErrNotFound), "check --team or --pipeline, and that the token's account can see the apps")
	}
	fields, err := opts.fields()
	if err != nil {
		return nil, err
	}
	// Two apps must never share a store: each would overwrite the other.
	for _, f := range fields {
		if f.key == "source" || f.key == "flags_file" {
			continue
		}
		if !strings.Contains(f.value, AppPlaceholder) && !strings.Contains(f.value, StagePlaceholder) {
			return nil, WithHint(fmt.Errorf("%w: %s: %s names one store for every app", ErrInvalid, f.key, f.value),
				"put {app} (or {stage} for a pipeline) in the template")
		}
		seen := map[string]string{}
		for _, a := range apps {
			v := f.expand(a)
			if other, dup := seen[v]; dup {
				return nil, WithHint(fmt.Errorf("%w: %s: apps %q and %q would share %s", ErrInvalid, f.key, other, a.Name, v),
					"put {app} (or {stage} for a pipeline) in the template")
			}
			seen[v] = a.Name
		}
	}
	var perApp, shared []initField
	for _, f := range fields {
		if strings.Contains(f.value, StagePlaceholder) {
			perApp = append(perApp, f)
		} else {
			shared = append(shared, f)
		}
	}
	summaryOf := map[string]InitSummary{}
	for _, s := range summaries {
		summaryOf[s.App.Name] = s
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "# envsync.yaml: written by `%s` (envsync %s).\n", opts.Command, Version)
	b.WriteString("# Every app gets the fields under defaults:, with {app} replaced by its name; an app\n")
	b.WriteString("# may set its own source, restart, flags_file or routes.CLASS instead.\n")
	b.WriteString("# Next: envsync classify --from heroku://APP --explain, then envsync plan.\n")
	b.WriteString("version: 1\n")
	if opts.Rules != "" {
		fmt.Fprintf(&b, "rules: %s  # your rules, applied before the built-in ones\n", yamlString(opts.Rules))
	}
	b.WriteString("defaults:\n")
	inRoutes := false
	for _, f := range shared {
		key, isRoute := strings.CutPrefix(f.key, "routes.")
		if isRoute && !inRoutes {
			b.WriteString("  routes:\n")
			inRoutes = true
		}
		indent := "  "
		if isRoute {
			indent = "    "
		}
		fmt.Fprintf(&b, "%s%s: %s  # %s\n", indent, key, yamlString(f.value), f.comment)
	}
	b.WriteString("apps:\n")
	for _, a := range apps {
		if s, ok := summaryOf[a.Name]; ok {
			fmt.Fprintf(&b, "  # %s\n", s.line())
		}
		if len(perApp) == 0 {
			fmt.Fprintf(&b, "  %s: {}\n", yamlString(a.Name))
			continue
		}
		fmt.Fprintf(&b, "  %s:\n", yamlString(a.Name))
		var routes []string
		for _, f := range perApp {
			if key, ok := strings.CutPrefix(f.key, "routes."); ok {
				routes = append(routes, fmt.Sprintf("      %s: %s\n", key, yamlString(f.expand(a))))
				continue
			}
			fmt.Fprintf(&b, "    %s: %s\n", f.key, yamlString(f.expand(a)))
		}
		if len(routes) > 0 {
			b.WriteString("    routes:\n" + strings.Join(routes, ""))
		}
	}
	bad := func(err error) error {
		return WithHint(fmt.Errorf("the generated config is not valid: %w", err), "check the templates given to envsync init")
	}
	cfg, err := ParseConfig(path, b.Bytes())
	if err != nil {
		return nil, bad(err)
	}
	// Opening a store checks its URL the way plan will, with no call.
	for _, app := range cfg.Apps {
		for _, class := range RoutedClasses {
			if u, ok := app.Routes[class]; ok {
				if _, err := Open(ctx, u, OpenOptions{BaseDir: cfg.Dir}); err != nil {
					return nil, bad(fmt.Errorf("app %q: routes: %s: %w", app.Name, class, err))
				}
			}
		}
	}
	return b.Bytes(), nil
}

// line is the summary as one line: "web (production): 42 vars: 10 feature, …; 3 to review".
func (s InitSummary) line() string {
	name := s.App.Name
	if s.App.Stage != "" {
		name += " (" + s.App.Stage + ")"
	}
	if s.Err != nil {
		return name + ": not classified: could not be read"
	}
	var parts []string
	for _, c := range Classes {
		parts = append(parts, fmt.Sprintf("%d %s", s.Classes[c], c))
	}
	return fmt.Sprintf("%s: %d vars: %s; %d to review", name, s.Vars, strings.Join(parts, ", "), s.Review)
}

// yamlString quotes s when YAML would read it as something else.
func yamlString(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	v := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(v, "\n") {
		return fmt.Sprintf("%q", s)
	}
	return v
}

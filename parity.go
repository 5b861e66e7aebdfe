package envsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Parity actions: what keeps a container from seeing exactly what the
// source (Heroku) gives the dyno. Extra (a key only the container sees),
// NotLoaded (the feature env file is not in environmentFiles), MissingSecret
// (a secrets entry ECS cannot resolve: the task would not start) and
// EnvDiffers (an environment entry with another value) are shared with drift.
const (
	Missing     Action = "missing"      // the source has it; the container will not see it
	Differs     Action = "differs"      // the container sees another value (from an env file or a secret)
	Shadowed    Action = "shadowed"     // set in several places; all but one are ignored
	MissingFile Action = "missing-file" // an env file the container loads does not exist: the task would not start
	NoService   Action = "no-service"   // the service or cluster does not exist
	NoContainer Action = "no-container" // the app container cannot be found in the task definition
)

// ParityFinding is one way the container differs from the source. Old is what the
// container sees, New what the source has; Show them, never print them.
type ParityFinding struct {
	Change
	// From is where the container gets the key ("environment", an env file
	// URL, a secret's valueFrom), or "".
	From string
	// Detail says what is wrong and what to do, without values.
	Detail string
}

// HerokuOnly is a source variable that only means something on Heroku, with
// what gives the same information on ECS.
type HerokuOnly struct {
	Key         string
	Replacement string
}

// Parity is the verdict on one app's container: does it see exactly the
// source's variables, minus those classed ignore?
type Parity struct {
	App       *App
	Service   string // ecs://CLUSTER/SERVICE
	Container string // the app container checked, or ""
	Findings  []ParityFinding
	// HerokuOnly lists the source's ignore-class variables and their ECS replacements.
	HerokuOnly []HerokuOnly
	// Notes are facts that are not findings (a secrets entry envsync cannot read).
	Notes []string
	// Checked is how many source variables were compared.
	Checked int
	// Truth is what the container was compared with: "the source", or "the
	// stores" for a cut-over app (phase: cutover).
	Truth string
}

// OK reports full parity.
func (p *Parity) OK() bool { return len(p.Findings) == 0 }

// Origins of a variable in a container, weakest first. The ECS API reference
// (ContainerDefinition.environmentFiles) says environment entries take
// precedence over env files and that several files are processed top down;
// the ECS agent keeps the first file's value (MergeEnvironmentVariablesFromEnvfiles
// only adds names not yet set). When a name is both in environment and in
// secrets the documentation says nothing; the agent's populateContainerSecrets
// (agent/api/task/task.go) merges secrets with MergeEnvironmentVariables,
// which overwrites, so the secret wins. envsync reports every such overlap as
// shadowed, whoever wins.
const (
	originFile        = "file"
	originEnvironment = "environment"
	originSecret      = "secret"
)

// EffectiveVar is one variable as a container sees it.
type EffectiveVar struct {
	Value string
	Kind  string // file, environment or secret
	From  string // the env file URL, "environment", or the secret's valueFrom
	// Err is set when ECS could not resolve it (the task would not start).
	Err error
	// Unknown is true when envsync could not read the value (a secret
	// envsync has no reader for, an SSM parameter).
	Unknown bool
	// Shadowed lists the places that set the name too but lose.
	Shadowed []string
}

// EffectiveEnv is the environment ECS builds for a container from its task
// definition: env files (files holds each one's content; the first file that
// sets a name wins), then environment entries, then secrets (secrets holds
// what each valueFrom resolves to; a valueFrom missing from it is Unknown).
func EffectiveEnv(ct *DeployedContainer, files map[string]map[string]string, secrets map[string]SecretValue) map[string]*EffectiveVar {
	env := map[string]*EffectiveVar{}
	for _, f := range ct.EnvFiles {
		for _, k := range slices.Sorted(maps.Keys(files[f])) {
			if ev, ok := env[k]; ok {
				ev.Shadowed = append(ev.Shadowed, f)
				continue
			}
			env[k] = &EffectiveVar{Value: files[f][k], Kind: originFile, From: f}
		}
	}
	set := func(k string, nv *EffectiveVar) {
		if old, ok := env[k]; ok {
			nv.Shadowed = append(append(nv.Shadowed, old.From), old.Shadowed...)
		}
		env[k] = nv
	}
	for _, k := range slices.Sorted(maps.Keys(ct.Environment)) {
		set(k, &EffectiveVar{Value: ct.Environment[k], Kind: originEnvironment, From: "environment"})
	}
	for _, k := range slices.Sorted(maps.Keys(ct.Secrets)) {
		vf := ct.Secrets[k]
		sv, ok := secrets[vf]
		set(k, &EffectiveVar{Value: sv.Value, Err: sv.Err, Unknown: !ok, Kind: originSecret, From: vf})
	}
	return env
}

// AppContainer picks the app's container: the one named name, else the only
// essential container, else the one named like the service. ok is false,
// with a reason, when there is none or the choice is ambiguous.
func AppContainer(dep *Deployment, name string) (*DeployedContainer, string) {
	names := make([]string, len(dep.Containers))
	for i, c := range dep.Containers {
		names[i] = c.Name
	}
	if name != "" {
		for i := range dep.Containers {
			if dep.Containers[i].Name == name {
				return &dep.Containers[i], ""
			}
		}
		return nil, fmt.Sprintf("the task definition %s has no container %q (it has %s); fix container: in the config", dep.TaskDefinition, name, strings.Join(names, ", "))
	}
	var essential []*DeployedContainer
	for i := range dep.Containers {
		if dep.Containers[i].Essential {
			essential = append(essential, &dep.Containers[i])
		}
	}
	if len(essential) == 1 {
		return essential[0], ""
	}
	for i := range dep.Containers {
		if dep.Containers[i].Name == dep.ServiceName {
			return &dep.Containers[i], ""
		}
	}
	if len(dep.Containers) == 1 {
		return &dep.Containers[0], ""
	}
	return nil, fmt.Sprintf("the task definition %s has several containers (%s) and none is the only essential one or named %q; name the app container with container: in the config", dep.TaskDefinition, strings.Join(names, ", "), dep.ServiceName)
}

// herokuOnly says what replaces each Heroku dyno variable on ECS.
var herokuOnly = map[string]string{
	"DYNO":                       "no dyno names on ECS: the task's id is in the task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4, /task → TaskARN)",
	"PORT":                       "set the container port in the task definition's portMappings (and environment if the app reads PORT)",
	"HEROKU_APP_NAME":            "the ECS service name (task metadata endpoint /task → ServiceName), or a static variable",
	"HEROKU_APP_ID":              "the task definition's family or the service ARN (task metadata endpoint /task)",
	"HEROKU_RELEASE_VERSION":     "the task definition revision (task metadata endpoint /task → Revision)",
	"HEROKU_RELEASE_CREATED_AT":  "the deployment's creation time (ecs describe-services → deployments[].createdAt)",
	"HEROKU_SLUG_COMMIT":         "the image tag or digest (task metadata endpoint → Image, ImageID); pass the git sha at build time",
	"HEROKU_SLUG_DESCRIPTION":    "the image tag (task metadata endpoint → Image)",
	"HEROKU_BUILD_COMMIT":        "the image tag or digest (task metadata endpoint → Image, ImageID)",
	"HEROKU_DYNO_ID":             "the task ARN (task metadata endpoint /task → TaskARN)",
	"HEROKU_PRIVATE_IP":          "the task's address (task metadata endpoint → Networks[].IPv4Addresses)",
	"HEROKU_BUILDPACK_VERSION":   "nothing: ECS runs an image, not a buildpack",
	"WEB_MEMORY":                 "the task definition's memory",
	"DYNO_RAM":                   "the task definition's memory (task metadata endpoint /task → Limits.Memory)",
	"HEROKU_REDIS_MAINTENANCE":   "nothing: ElastiCache maintenance windows are set on the cluster",
	"HEROKU_POSTGRESQL_MAINTAIN": "nothing: RDS maintenance windows are set on the instance",
}

// HerokuReplacement says what gives a Heroku-only variable's information on
// ECS, or a generic hint.
func HerokuReplacement(key string) string {
	if r, ok := herokuOnly[key]; ok {
		return r
	}
	return "Heroku-only: find what gives the same information on ECS (the task metadata endpoint, the service's settings) rather than copying the value"
}

// Parity compares what the app's container will see with the source. The
// service comes from the app's restart:, the container from container:. A
// missing service, cluster or container is a finding, not an error: the rest
// of the report still stands. Errors are for what stops the check (a store
// or the source unreadable).
func (e *Engine) Parity(ctx context.Context, cfg *Config, app *App, read DeploymentReader) (*Parity, error) {
	if app.Restart == "" {
		return nil, WithHint(fmt.Errorf("app %q: %w: no restart: service to check", app.Name, ErrInvalid),
			"add restart: ecs://CLUSTER/SERVICE (and container: NAME) to the app in the config")
	}
	eng := *e
	eng.Prune = false
	var p *AppPlan
	var err error
	if app.CutOver() {
		p, err = eng.storesPlan(ctx, cfg, app, nil) // the stores are the truth
	} else {
		p, err = eng.Plan(ctx, cfg, app)
	}
	if err != nil {
		return nil, err
	}
	return e.parity(ctx, cfg, p, read)
}

func (e *Engine) parity(ctx context.Context, cfg *Config, p *AppPlan, read DeploymentReader) (*Parity, error) {
	app := p.App
	res := &Parity{App: app, Service: app.Restart, Truth: "the source"}
	if app.CutOver() {
		res.Truth = "the stores"
	}
	for _, en := range p.Entries {
		if en.Class == Ignore {
			res.HerokuOnly = append(res.HerokuOnly, HerokuOnly{Key: en.Name, Replacement: HerokuReplacement(en.Name)})
		}
	}
	opts := e.Open
	opts.BaseDir = cfg.Dir
	dep, err := read(ctx, app.Restart, opts)
	if errors.Is(err, ErrNotFound) {
		res.Findings = append(res.Findings, ParityFinding{Change: Change{Store: app.Restart, Key: app.Restart, Action: NoService},
			Detail: fmt.Sprintf("the service or its cluster does not exist (%v): create the service with a task definition built from envsync ecs render --app %s, or fix restart: in the config", err, app.Name)})
		return res, nil
	}
	if err != nil {
		return nil, fmt.Errorf("app %q: %w", app.Name, err)
	}
	ct, why := AppContainer(dep, app.Container)
	if ct == nil {
		res.Findings = append(res.Findings, ParityFinding{Change: Change{Store: app.Restart, Key: cmp.Or(app.Container, dep.TaskDefinition), Action: NoContainer}, Detail: why})
		return res, nil
	}
	res.Container = ct.Name
	where := fmt.Sprintf("%s (container %s)", app.Restart, ct.Name)
	finding := func(f ParityFinding) {
		f.Store = where
		res.Findings = append(res.Findings, f)
	}

	// Every routed env file (feature, and static or dynamic where they go to
	// one) must be loaded; what the plan read of it is reused.
	routed := map[string]*Snapshot{} // location → snapshot
	for _, class := range []Class{Feature, Static, Dynamic} {
		url, ok := app.Routes[class]
		if !ok {
			continue
		}
		loc, ok := p.Store(url).(EnvFileLocator)
		if !ok {
			continue
		}
		ref, err := loc.ECSEnvFile(ctx)
		if err != nil {
			return nil, fmt.Errorf("app %q: %w", app.Name, err)
		}
		if _, seen := routed[ref.Location]; seen {
			continue
		}
		snap := p.Snapshot(url)
		routed[ref.Location] = snap
		if !slices.Contains(ct.EnvFiles, ref.Location) {
			finding(ParityFinding{Change: Change{Class: class, Key: ref.Location, Action: NotLoaded},
				Detail: fmt.Sprintf("the container does not load %s: add %s to its environmentFiles (envsync ecs render)", ref.Location, ref.ObjectARN)})
		} else if snap != nil && !snap.Modified.IsZero() && snap.Modified.After(dep.StartedAt) {
			res.Notes = append(res.Notes, fmt.Sprintf("%s changed at %s, after the running deployment of %s began (%s): ECS reads env files only when a task starts; restart the service to load it",
				url, snap.Modified.UTC().Format(time.RFC3339), app.Restart, dep.StartedAt.UTC().Format(time.RFC3339)))
		}
	}

	// Read every env file the container loads.
	files := map[string]map[string]string{}
	for _, f := range ct.EnvFiles {
		if _, done := files[f]; done {
			continue
		}
		snap := routed[f]
		if snap == nil {
			st, err := Open(ctx, f, opts)
			if err != nil {
				return nil, fmt.Errorf("app %q: env file of %s: %w", app.Name, where, err)
			}
			if snap, err = st.Read(ctx); err != nil {
				return nil, fmt.Errorf("app %q: %w", app.Name, err)
			}
		}
		if !snap.Exists {
			finding(ParityFinding{Change: Change{Key: f, Action: MissingFile}, From: f, Detail: f + " does not exist: ECS fails to start the task; run envsync import, or remove it from environmentFiles"})
		}
		files[f] = snap.Vars
	}

	// Resolve the secrets entries the way ECS does.
	var secrets map[string]SecretValue
	if len(ct.Secrets) > 0 {
		if r, ok := p.Store(app.Routes[Secret]).(ValueFromResolver); ok {
			vfs := slices.Sorted(maps.Values(ct.Secrets))
			if secrets, err = r.ResolveValueFrom(ctx, vfs); err != nil {
				return nil, fmt.Errorf("app %q: %w", app.Name, err)
			}
		}
	}
	env := EffectiveEnv(ct, files, secrets)

	source := map[string]Entry{}
	for _, en := range p.Entries {
		if en.Class != Ignore {
			source[en.Name] = en
		}
	}
	res.Checked = len(source)
	sensitive := func(k string, en Entry, ev *EffectiveVar) bool {
		return en.Class == Secret || ev != nil && ev.Kind == originSecret ||
			p.sensitive(false, k, en.Value) || ev != nil && p.sensitive(false, k, ev.Value)
	}
	for _, k := range slices.Sorted(maps.Keys(source)) {
		en := source[k]
		ev := env[k]
		switch {
		case ev == nil:
			finding(ParityFinding{Change: Change{Class: en.Class, Key: k, Action: Missing, New: en.Value, Sensitive: sensitive(k, en, nil), Addon: en.Addon},
				Detail: missingHint(en.Class)})
			continue
		case ev.Err != nil:
			finding(ParityFinding{Change: Change{Class: en.Class, Key: k, Action: MissingSecret, New: en.Value, Sensitive: true}, From: ev.From,
				Detail: fmt.Sprintf("ECS cannot resolve it (%v), so the task would not start; run envsync import, or fix the secrets entry", ev.Err)})
		case ev.Unknown:
			res.Notes = append(res.Notes, fmt.Sprintf("%s comes from %s, which envsync cannot read: its value is not compared", k, ev.From))
		case ev.Value != en.Value:
			action := Differs
			if ev.Kind == originEnvironment {
				action = EnvDiffers
			}
			finding(ParityFinding{Change: Change{Class: en.Class, Key: k, Action: action, Old: ev.Value, New: en.Value, Sensitive: sensitive(k, en, ev), Addon: en.Addon},
				From: ev.From, Detail: fmt.Sprintf("the container gets another value from %s", ev.From)})
		}
		if len(ev.Shadowed) > 0 {
			finding(shadowed(k, en.Class, ev))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if _, ok := source[k]; ok {
			continue
		}
		ev := env[k]
		if ev.Err != nil {
			finding(ParityFinding{Change: Change{Key: k, Action: MissingSecret, Sensitive: true}, From: ev.From,
				Detail: fmt.Sprintf("ECS cannot resolve it (%v), so the task would not start; fix or remove the secrets entry", ev.Err)})
			continue
		}
		detail := res.Truth + " do not have it: remove it from the task definition or the env file, or add it to " + res.Truth
		if !app.CutOver() {
			detail = "the source does not have it: remove it from the task definition or the env file, or add it at the source"
		}
		if slices.ContainsFunc(res.HerokuOnly, func(h HerokuOnly) bool { return h.Key == k }) {
			detail = "a Heroku-only variable copied to ECS: " + HerokuReplacement(k)
		}
		finding(ParityFinding{Change: Change{Key: k, Action: Extra, Old: ev.Value, Sensitive: ev.Kind == originSecret || p.sensitive(false, k, ev.Value)}, From: ev.From, Detail: detail})
		if len(ev.Shadowed) > 0 {
			finding(shadowed(k, "", ev))
		}
	}
	return res, nil
}

func shadowed(k string, class Class, ev *EffectiveVar) ParityFinding {
	return ParityFinding{Change: Change{Class: class, Key: k, Action: Shadowed}, From: ev.From,
		Detail: fmt.Sprintf("also set in %s, which the container ignores: %s wins (environment beats env files, the first env file wins, a secret beats environment); set it in one place", strings.Join(ev.Shadowed, ", "), ev.From)}
}

func missingHint(c Class) string {
	switch c {
	case Secret:
		return "no secrets entry sets it: add the one envsync ecs render prints"
	case Feature:
		return "no env file the container loads sets it: load the feature env file and run envsync import"
	case Static, Dynamic:
		return "no environment entry sets it: add the ones envsync ecs render prints (or its Terraform locals)"
	}
	return "the container does not see it"
}

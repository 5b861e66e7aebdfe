package envsync

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"
)

// AppDrift is the verdict for one app: what differs between its source and
// its stores, and between its stores and what its ECS service runs.
type AppDrift struct {
	App     *App
	Err     error
	Changes []Change // add, update (the store lags the source) and extra (only in the store)
	// Notes are facts a reader needs that are not drift (e.g. a file changed
	// after the running deployment began).
	Notes []string
}

// Drifted reports whether anything differs.
func (d *AppDrift) Drifted() bool { return len(d.Changes) > 0 }

// Deployment is what a running ECS service loads (sinks/ecs reads it).
type Deployment struct {
	Service        string // ecs://CLUSTER/SERVICE
	TaskDefinition string
	StartedAt      time.Time // when the primary deployment began
	Containers     []DeployedContainer
}

// DeployedContainer is one container of the running task definition.
type DeployedContainer struct {
	Name        string
	Environment map[string]string // beats every env file
	EnvFiles    []string          // s3://BUCKET/KEY, in order: the first file wins a key
	Secrets     map[string]string // name → valueFrom
}

// DeploymentReader reads what a service runs: ecs://CLUSTER/SERVICE.
type DeploymentReader func(ctx context.Context, service string, opts OpenOptions) (*Deployment, error)

// Drift actions beyond the plan's.
const (
	NotLoaded     Action = "not-loaded"     // the container does not load the route's env file
	MissingSecret Action = "missing-secret" // a secrets entry points at a key that is not in the secret
	EnvDiffers    Action = "env-differs"    // the task definition's environment differs from the tfvars value
)

// Drift checks one app: the plan's add, update and extra changes, then,
// when the app names a restart service and read is set, what that service
// really runs. Errors are returned in AppDrift.Err.
func (e *Engine) Drift(ctx context.Context, cfg *Config, app *App, read DeploymentReader) *AppDrift {
	d := &AppDrift{App: app}
	eng := *e
	eng.Prune = false
	eng.Open.NoAddons = true // drift compares values: add-on ownership costs a call per app and changes nothing
	p, err := eng.Plan(ctx, cfg, app)
	if err != nil {
		d.Err = err
		return d
	}
	d.Changes = append(slices.Clone(p.Changes), p.Extra...)
	if app.Restart == "" || read == nil {
		return d
	}
	opts := e.Open
	opts.BaseDir = cfg.Dir
	dep, err := read(ctx, app.Restart, opts)
	if err != nil {
		d.Err = err
		return d
	}
	d.Changes = append(d.Changes, deploymentDrift(p, dep, &d.Notes)...)
	return d
}

// deploymentDrift compares the running task definition with the routes.
func deploymentDrift(p *AppPlan, dep *Deployment, notes *[]string) []Change {
	var out []Change
	stores := map[string]*target{}
	for _, t := range p.targets {
		stores[t.url] = t
	}
	for _, ct := range dep.Containers {
		where := fmt.Sprintf("%s (container %s)", dep.Service, ct.Name)
		// The feature env file must be loaded.
		if url, ok := p.App.Routes[Feature]; ok && strings.HasPrefix(url, "s3://") {
			if !slices.Contains(ct.EnvFiles, stripQuery(url)) {
				out = append(out, Change{Store: where, Class: Feature, Key: url, Action: NotLoaded})
			} else if t := stores[url]; t != nil && !t.base.Modified.IsZero() && t.base.Modified.After(dep.StartedAt) {
				*notes = append(*notes, fmt.Sprintf("%s changed at %s, after the running deployment of %s began (%s): ECS reads env files only when a task starts; restart the service to load it",
					url, t.base.Modified.UTC().Format(time.RFC3339), dep.Service, dep.StartedAt.UTC().Format(time.RFC3339)))
			}
		}
		// Every secrets entry that points at the app's secret must name a key it has.
		if url, ok := p.App.Routes[Secret]; ok && strings.HasPrefix(url, "secretsmanager://") {
			name := strings.Trim(strings.TrimPrefix(stripQuery(url), "secretsmanager://"), "/")
			t := stores[url]
			for _, env := range slices.Sorted(maps.Keys(ct.Secrets)) {
				secretName, jsonKey := parseValueFrom(ct.Secrets[env])
				if secretName != name || jsonKey == "" || t == nil {
					continue
				}
				if _, ok := t.base.Vars[jsonKey]; !ok {
					out = append(out, Change{Store: where, Class: Secret, Key: env, Action: MissingSecret, Sensitive: true})
				}
			}
		}
		// environment values that envsync routes to tfvars must match them.
		for _, class := range []Class{Static, Dynamic} {
			url, ok := p.App.Routes[class]
			if !ok || stores[url] == nil {
				continue
			}
			want := stores[url].want
			for _, k := range slices.Sorted(maps.Keys(ct.Environment)) {
				if v, ok := want[k]; ok && v != ct.Environment[k] {
					out = append(out, Change{Store: where, Class: class, Key: k, Action: EnvDiffers, Old: ct.Environment[k], New: v,
						Sensitive: p.sensitive(false, k, ct.Environment[k])})
				}
			}
		}
	}
	return out
}

func stripQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// parseValueFrom splits a secrets valueFrom —
// arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf:JSONKEY:STAGE:VERSION,
// or NAME:JSONKEY:: — into the secret's name (without the random suffix
// Secrets Manager adds to ARNs) and the JSON key ("" for the whole secret).
func parseValueFrom(v string) (name, jsonKey string) {
	if rest, ok := strings.CutPrefix(v, "arn:"); ok {
		parts := strings.Split(rest, ":")
		// aws secretsmanager REGION ACCOUNT secret NAME [JSONKEY STAGE VERSION]
		if len(parts) < 6 || parts[1] != "secretsmanager" {
			return "", ""
		}
		name = parts[5]
		if i := strings.LastIndexByte(name, '-'); i > 0 && len(name)-i == 7 {
			name = name[:i]
		}
		if len(parts) > 6 {
			jsonKey = parts[6]
		}
		return name, jsonKey
	}
	name, rest, _ := strings.Cut(v, ":")
	jsonKey, _, _ = strings.Cut(rest, ":")
	return name, jsonKey
}

// Shard returns the apps of shard k of n (1-based): an app belongs to the
// shard its name hashes to, so adding an app moves no other app.
func Shard(apps []*App, k, n int) []*App {
	if n <= 1 {
		return apps
	}
	var out []*App
	for _, a := range apps {
		h := fnv.New32a()
		h.Write([]byte(a.Name))
		if int(h.Sum32()%uint32(n)) == k-1 {
			out = append(out, a)
		}
	}
	return out
}

// DriftAll checks apps with the bounds of o (see ForEachApp); results are in
// the apps' order.
func (e *Engine) DriftAll(ctx context.Context, cfg *Config, apps []*App, o RunOptions, read DeploymentReader) []*AppDrift {
	eng := e.forRun(o)
	out := make([]*AppDrift, len(apps))
	errs := ForEachApp(ctx, apps, o, func(ctx context.Context, i int, app *App) error {
		out[i] = eng.Drift(ctx, cfg, app, read)
		return out[i].Err
	})
	for i, err := range errs {
		out[i].Err = err
	}
	return out
}

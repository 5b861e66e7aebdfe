package envsync

import (
	"context"
	"hash/fnv"
	"time"
)

// AppDrift is the verdict for one app: what differs between its source and
// its stores, and between its stores and what its ECS service runs.
type AppDrift struct {
	App     *App
	Err     error
	Changes []Change // add, update (the store lags the source) and extra (only in the store)
	// Notes are facts a reader needs that are not drift.
	Notes []string
	// Parity is what the app's ECS container sees compared with the source,
	// when the app names a restart: service and the check reads ECS.
	Parity *Parity
}

// Drifted reports whether anything differs, in the stores or in the container.
func (d *AppDrift) Drifted() bool { return len(d.Changes) > 0 || d.Parity != nil && !d.Parity.OK() }

// Deployment is what a running ECS service loads (sinks/ecs reads it).
type Deployment struct {
	Service        string // ecs://CLUSTER/SERVICE
	ServiceName    string // SERVICE
	TaskDefinition string
	StartedAt      time.Time // when the primary deployment began
	Containers     []DeployedContainer
}

// DeployedContainer is one container of the running task definition.
type DeployedContainer struct {
	Name        string
	Essential   bool
	Environment map[string]string // beats every env file
	EnvFiles    []string          // s3://BUCKET/KEY, in order: the first file wins a key
	Secrets     map[string]string // name → valueFrom
}

// DeploymentReader reads what a service runs: ecs://CLUSTER/SERVICE.
type DeploymentReader func(ctx context.Context, service string, opts OpenOptions) (*Deployment, error)

// Drift actions beyond the plan's, found in what a container runs.
const (
	NotLoaded     Action = "not-loaded"     // the container does not load the route's env file
	MissingSecret Action = "missing-secret" // a secrets entry ECS cannot resolve (no such secret or key)
	EnvDiffers    Action = "env-differs"    // the task definition's environment has another value than the source
)

// Drift checks one app: the plan's add, update and extra changes, then,
// when the app names a restart service and read is set, the parity of the
// app's container with the source (see Parity). Errors are returned in
// AppDrift.Err.
func (e *Engine) Drift(ctx context.Context, cfg *Config, app *App, read DeploymentReader) *AppDrift {
	d := &AppDrift{App: app}
	eng := *e
	eng.Prune, eng.OverwriteFlags = false, false
	eng.Open.NoAddons = true // drift compares values: add-on ownership costs a call per app and changes nothing
	var p *AppPlan
	var err error
	if app.CutOver() {
		p, err = eng.storesPlan(ctx, cfg, app, d)
	} else {
		p, err = eng.plan(ctx, cfg, app, true)
	}
	if err != nil {
		d.Err = err
		return d
	}
	d.Changes = append(append(d.Changes, p.Changes...), p.Held...)
	d.Changes = append(d.Changes, p.Extra...)
	d.Notes = append(d.Notes, p.Exposed...)
	if app.Restart == "" || read == nil {
		return d
	}
	d.Parity, d.Err = e.parity(ctx, cfg, p, read)
	return d
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

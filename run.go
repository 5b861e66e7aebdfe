package envsync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// RunOptions bound a command that works on many apps: how many at once,
// how long each may take, and who hears about progress.
type RunOptions struct {
	// Parallel is how many apps run at once (at least 1).
	Parallel int
	// Timeout bounds each app; 0 means no bound but the caller's context.
	Timeout time.Duration
	// Progress, if set, is called after each app with how many are done.
	// Calls are serialised.
	Progress func(done, total int)
}

// ForEachApp calls fn for every app, at most o.Parallel at once, each under
// its own timeout. It returns one error per app, in the apps' order (nil
// where fn succeeded); an app that ran out of time says so. drift, plan and
// import all go through it, so they share its bounds, progress and order.
func ForEachApp(ctx context.Context, apps []*App, o RunOptions, fn func(ctx context.Context, i int, app *App) error) []error {
	errs := make([]error, len(apps))
	var mu sync.Mutex
	done := 0
	sem := make(chan struct{}, max(o.Parallel, 1))
	var wg sync.WaitGroup
	for i, app := range apps {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			actx, cancel := ctx, context.CancelFunc(func() {})
			if o.Timeout > 0 {
				actx, cancel = context.WithTimeout(ctx, o.Timeout)
			}
			defer cancel()
			err := fn(actx, i, app)
			if err != nil && actx.Err() != nil && ctx.Err() == nil {
				inner := strings.TrimPrefix(err.Error(), fmt.Sprintf("app %q: ", app.Name)) // name the app once
				err = WithHint(fmt.Errorf("app %q: %w: gave up after %s (--timeout): %s", app.Name, ErrUnreachable, o.Timeout, inner),
					"a store did not answer in time; check the network, endpoints and credentials")
			}
			errs[i] = err
			if o.Progress != nil {
				mu.Lock()
				done++
				o.Progress(done, len(apps))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// forRun returns a copy of the engine for one run: its stores share one
// run-scoped cache of local files (unless the caller gave one) and size their
// connection pools to the run's parallelism.
func (e *Engine) forRun(o RunOptions) *Engine {
	eng := *e
	if eng.Open.Parallel == 0 {
		eng.Open.Parallel = max(o.Parallel, 1)
	}
	if eng.Open.Files == nil {
		eng.Open.Files = NewFileCache()
	}
	if _, done := eng.Classifier.(*memoClassifier); !done && eng.Classifier != nil {
		eng.Classifier = &memoClassifier{next: eng.Classifier}
	}
	return &eng
}

// memoClassifier remembers, for one run, the decision on each variable:
// apps of one company share most names and many values (RAILS_ENV=production),
// and a classifier is deterministic.
type memoClassifier struct {
	next Classifier
	m    sync.Map // name, add-on and value → Decision
}

func (c *memoClassifier) Classify(v Var) Decision {
	key := v.Name + "\x00" + v.Addon + "\x00" + v.Value
	if d, ok := c.m.Load(key); ok {
		return d.(Decision)
	}
	d := c.next.Classify(v)
	c.m.Store(key, d)
	return d
}

// PlanAll plans and validates every app with the bounds of o; plans are in
// the apps' order. One app's failure — a store that cannot be read, a value
// a store cannot carry — blocks only that app: its plan is nil, the others
// are planned. The errors of the apps that failed are returned joined, in
// the apps' order (the k-th error belongs to the k-th nil plan).
func (e *Engine) PlanAll(ctx context.Context, cfg *Config, apps []*App, o RunOptions) ([]*AppPlan, error) {
	eng := e.forRun(o)
	plans := make([]*AppPlan, len(apps))
	errs := ForEachApp(ctx, apps, o, func(ctx context.Context, i int, app *App) error {
		p, err := eng.Plan(ctx, cfg, app)
		if err == nil {
			err = p.Validate()
		}
		if err == nil {
			plans[i] = p
		}
		return err
	})
	return plans, errors.Join(errs...)
}

// ApplyAll applies every plan that has changes, o.Parallel apps at once.
// Within an app the writes keep Apply's safe order (secrets, then tfvars,
// then the S3 env file). o.Timeout is not applied: a write is not cut short
// half-way (per-key secrets are paced to AWS's quota, so a large app takes a
// while); the SDK's and Heroku's own retry bounds still hold. It returns the
// errors of the apps that failed, in the apps' order, and how many changes
// were applied.
func (e *Engine) ApplyAll(ctx context.Context, plans []*AppPlan, meta map[string]string, o RunOptions) (applied int, err error) {
	o.Timeout = 0
	apps := make([]*App, len(plans))
	for i, p := range plans {
		apps[i] = p.App
	}
	var mu sync.Mutex
	errs := ForEachApp(ctx, apps, o, func(ctx context.Context, i int, _ *App) error {
		if !plans[i].HasChanges() {
			return nil
		}
		if err := e.Apply(ctx, plans[i], meta); err != nil {
			return err
		}
		mu.Lock()
		applied += len(plans[i].Changes)
		mu.Unlock()
		e.logger().Info("applied", "app", plans[i].App.Name, "changes", len(plans[i].Changes))
		return nil
	})
	return applied, errors.Join(errs...)
}

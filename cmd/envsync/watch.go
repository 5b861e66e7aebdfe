package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:  "watch",
		Usage: "run the drift check on a schedule and serve Prometheus metrics",
		Description: `Runs the same check as envsync drift every --interval (with jitter, so many
watchers do not hit the APIs at once), serves /metrics and /healthz on
--listen, and notifies (--notify) only when an app's state changes. Stops
cleanly on SIGTERM or SIGINT.

Metrics: envsync_drift_keys{app,store}, envsync_check_duration_seconds,
envsync_last_success_timestamp_seconds, envsync_check_errors_total{app}.`,
		Flags: append(driftFlags(),
			&cli.DurationFlag{Name: "interval", Value: 10 * time.Minute, EnvVars: []string{"ENVSYNC_INTERVAL"}, Usage: "time between checks"},
			&cli.Float64Flag{Name: "jitter", Value: 0.1, Usage: "spread each interval by up to this fraction"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:9102", EnvVars: []string{"ENVSYNC_LISTEN"}, Usage: "address for /metrics and /healthz"},
		),
		Action: runWatch,
	}
}

type watchMetrics struct {
	driftKeys   *prometheus.GaugeVec
	duration    prometheus.Histogram
	lastSuccess prometheus.Gauge
	errors      *prometheus.CounterVec
}

func newWatchMetrics(reg prometheus.Registerer) *watchMetrics {
	m := &watchMetrics{
		driftKeys:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "envsync_drift_keys", Help: "Keys that differ between an app's source and a store (or what ECS runs), by app and store."}, []string{"app", "store"}),
		duration:    prometheus.NewHistogram(prometheus.HistogramOpts{Name: "envsync_check_duration_seconds", Help: "How long a full drift check of every app took.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "envsync_last_success_timestamp_seconds", Help: "When a check last completed with no app in error (Unix time)."}),
		errors:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "envsync_check_errors_total", Help: "Apps whose check failed, by app."}, []string{"app"}),
	}
	reg.MustRegister(m.driftKeys, m.duration, m.lastSuccess, m.errors)
	return m
}

func (m *watchMetrics) record(results []*envsync.AppDrift, took time.Duration) {
	m.duration.Observe(took.Seconds())
	ok := true
	for _, d := range results {
		if d.Err != nil {
			ok = false
			m.errors.WithLabelValues(d.App.Name).Inc()
			continue
		}
		m.driftKeys.DeletePartialMatch(prometheus.Labels{"app": d.App.Name})
		for _, s := range d.App.Routes {
			m.driftKeys.WithLabelValues(d.App.Name, s).Set(0)
		}
		for _, ch := range d.Changes {
			m.driftKeys.WithLabelValues(d.App.Name, ch.Store).Inc()
		}
		if d.Parity != nil {
			for _, f := range d.Parity.Findings {
				m.driftKeys.WithLabelValues(d.App.Name, f.Store).Inc()
			}
		}
	}
	if ok {
		m.lastSuccess.SetToCurrentTime()
	}
}

// appState summarises an app's result, to notify on changes only.
func appState(d *envsync.AppDrift) string {
	if d.Err != nil {
		return "error"
	}
	var keys []string
	for _, ch := range d.Changes {
		keys = append(keys, fmt.Sprintf("%s %s %s %s", ch.Store, ch.Key, ch.Action, envsync.Fingerprint(ch.Key, ch.Old+"\x00"+ch.New)))
	}
	if d.Parity != nil {
		for _, f := range d.Parity.Findings {
			keys = append(keys, fmt.Sprintf("%s %s %s %s", f.Store, f.Key, f.Action, envsync.Fingerprint(f.Key, f.Old+"\x00"+f.New)))
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, "\n")
}

func runWatch(c *cli.Context) error {
	r, err := prepareDrift(c)
	if err != nil {
		return err
	}
	r.progress = nil // the metrics say how far a check is
	interval := c.Duration("interval")
	if interval < time.Second {
		return usageError("--interval %s: want at least 1s", interval)
	}
	reg := prometheus.NewRegistry()
	m := newWatchMetrics(reg)
	var lastDone atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		last := lastDone.Load()
		if last == 0 || time.Since(time.Unix(0, last)) > 3*interval+r.timeout {
			http.Error(w, "no check completed recently", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return envsync.WithHint(fmt.Errorf("listening on %s: %w", c.String("listen"), err), "pick another address with --listen")
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(c.App.ErrWriter, "envsync: watching %d app(s) every %s; metrics on http://%s/metrics\n", len(r.apps), interval, ln.Addr())

	states := map[string]string{}
	notifyURL := c.String("notify")
	for {
		start := time.Now()
		results := r.run(c.Context)
		if c.Context.Err() != nil {
			break
		}
		m.record(results, time.Since(start))
		lastDone.Store(time.Now().UnixNano())
		var changed []*envsync.AppDrift
		for _, d := range results {
			s := appState(d)
			if prev, seen := states[d.App.Name]; seen && prev != s || !seen && s != "" {
				changed = append(changed, d)
			}
			states[d.App.Name] = s
			if d.Err != nil {
				printError(c.App.ErrWriter, d.Err)
			}
		}
		logger(c).Info("check done", "apps", len(results), "changed", len(changed), "took", time.Since(start).Round(time.Millisecond))
		if notifyURL != "" && len(changed) > 0 {
			if err := notify(c.Context, notifyURL, changed); err != nil {
				warnf(c, "notify: %v", err)
			}
		}
		wait := interval + time.Duration((rand.Float64()*2-1)*c.Float64("jitter")*float64(interval))
		select {
		case <-c.Context.Done():
		case <-time.After(wait):
			continue
		}
		break
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Context), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(c.App.ErrWriter, "envsync: watch stopped")
	return nil
}

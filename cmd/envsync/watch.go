package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

Logs (stderr, --log-format text or json): one line per check (apps clean,
drifted and in error, keys that differ, how long it took) and one line per
app whose state changed (from, to, counts by action). Names and counts only,
never values.

Metrics: envsync_drift_keys{app,store}, envsync_check_duration_seconds,
envsync_last_success_timestamp_seconds, envsync_check_errors_total{app}.`,
		Flags: append(driftFlags(),
			&cli.DurationFlag{Name: "interval", Value: 10 * time.Minute, EnvVars: []string{"ENVSYNC_INTERVAL"}, Usage: "time between checks"},
			&cli.Float64Flag{Name: "jitter", Value: 0.1, EnvVars: []string{"ENVSYNC_JITTER"}, Usage: "spread each interval by up to this fraction"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:9102", EnvVars: []string{"ENVSYNC_LISTEN"}, Usage: "address for /metrics and /healthz"},
			&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"ENVSYNC_LOG_FORMAT"}, Usage: "the log lines on stderr: text (key=value) or json"},
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

// watchLogger logs at info level (debug with --verbose) whatever the
// global level: a watcher in a container should say what it does.
func watchLogger(c *cli.Context) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if c.Bool("verbose") {
		opts.Level = slog.LevelDebug
	}
	switch f := c.String("log-format"); f {
	case "text":
		return slog.New(slog.NewTextHandler(c.App.ErrWriter, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(c.App.ErrWriter, opts)), nil
	default:
		return nil, usageError("--log-format %q: want text or json", f)
	}
}

// verdict is an app's state in one word.
func verdict(d *envsync.AppDrift) string {
	switch {
	case d.Err != nil:
		return "error"
	case d.Drifted():
		return "drift"
	default:
		return "clean"
	}
}

// actionCounts counts an app's differences by action, as slog attributes.
func actionCounts(d *envsync.AppDrift) []any {
	n := map[envsync.Action]int{}
	for _, ch := range d.Changes {
		n[ch.Action]++
	}
	other := len(d.Changes) - n[envsync.Add] - n[envsync.Update] - n[envsync.Extra]
	return []any{"keys", len(d.Changes), "add", n[envsync.Add], "update", n[envsync.Update], "extra", n[envsync.Extra], "ecs", other}
}

// logCheck is the one line each check logs: names and counts, never values.
func logCheck(ctx context.Context, log *slog.Logger, results []*envsync.AppDrift, changed int, took time.Duration) {
	by := map[string]int{}
	keys := 0
	for _, d := range results {
		by[verdict(d)]++
		keys += len(d.Changes)
		log.Debug("app checked", append([]any{"app", d.App.Name, "verdict", verdict(d)}, actionCounts(d)...)...)
	}
	level := slog.LevelInfo
	if by["error"] > 0 {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "check", "apps", len(results), "clean", by["clean"], "drift", by["drift"], "error", by["error"],
		"keys", keys, "changed", changed, "duration_ms", took.Milliseconds())
}

// logStateChange logs an app whose state differs from the last check (or
// its first state). An error is logged redacted; it is printed in full
// (without values) above.
func logStateChange(log *slog.Logger, d *envsync.AppDrift, seen bool, prev string) {
	from := "none"
	if seen {
		switch prev {
		case "":
			from = "clean"
		case "error":
			from = "error"
		default:
			from = "drift"
		}
	}
	attrs := append([]any{"app", d.App.Name, "from", from, "to", verdict(d)}, actionCounts(d)...)
	if d.Err != nil {
		attrs = append(attrs, "error", envsync.Redact(d.Err.Error()))
	}
	log.Info("state changed", attrs...)
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
	log, err := watchLogger(c)
	if err != nil {
		return err
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
	infof(c.App.ErrWriter, "watching %d app(s) every %s; metrics on http://%s/metrics", len(r.apps), interval, ln.Addr())

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
		took := time.Since(start)
		var changed []*envsync.AppDrift
		for _, d := range results {
			s := appState(d)
			prev, seen := states[d.App.Name]
			if seen && prev != s || !seen && s != "" {
				changed = append(changed, d)
			}
			if !seen || prev != s {
				logStateChange(log, d, seen, prev)
			}
			states[d.App.Name] = s
			if d.Err != nil {
				printError(c.App.ErrWriter, d.Err)
			}
		}
		logCheck(c.Context, log, results, len(changed), took)
		if notifyURL != "" && len(changed) > 0 {
			if err := notify(c.Context, notifyURL, changed); err != nil {
				warnf(c.App.ErrWriter, "notify: %v", err)
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
	infof(c.App.ErrWriter, "watch stopped")
	return nil
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
)

// syncBuffer is a bytes.Buffer safe for the watcher's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("src.env", "FEATURE_A=on-4f1c9e\nFEATURE_B=on\n")
	write("feature.env", "FEATURE_A=off-7d2b8a\n") // drift: A differs, B missing
	write("envsync.yaml", "version: 1\napps:\n  web:\n    source: src.env\n    routes:\n      feature: file:feature.env\n")

	var mu sync.Mutex
	var posts []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(body))
		mu.Unlock()
	}))
	defer hook.Close()

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"envsync", "--config", filepath.Join(dir, "envsync.yaml"), "watch", "--interval", "1s", "--jitter", "0", "--listen", addr, "--notify", hook.URL}, strings.NewReader(""), io.Discard, &stderr)
	}()

	metrics := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s; stderr:\n%s\nmetrics:\n%s", what, stderr.String(), metrics())
	}
	driftLine := `envsync_drift_keys{app="web",store="file:feature.env"} `
	waitFor("drift of 2 keys", func() bool { return strings.Contains(metrics(), driftLine+"2") })
	if resp, err := http.Get("http://" + addr + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	m := metrics()
	for _, name := range []string{"envsync_check_duration_seconds_count", "envsync_last_success_timestamp_seconds"} {
		if !strings.Contains(m, name) {
			t.Errorf("metrics lack %s", name)
		}
	}
	// Fix the drift: the next check reports 0 and notifies the change once.
	write("feature.env", "FEATURE_A=on-4f1c9e\nFEATURE_B=on\n")
	waitFor("no drift", func() bool { return strings.Contains(metrics(), driftLine+"0") })
	time.Sleep(2500 * time.Millisecond) // two more unchanged checks: no more notifications
	mu.Lock()
	got := append([]string(nil), posts...)
	mu.Unlock()
	if n := len(got); n != 2 || !strings.Contains(got[1], "no drift") {
		t.Fatalf("%d notifications; want 2 (drift found, drift gone): %q", n, got)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop")
	}
	if !strings.Contains(stderr.String(), "watch stopped") {
		t.Fatalf("stderr:\n%s", stderr.String())
	}
	// One log line per check, one per state change: names and counts, never values.
	logs := stderr.String()
	for _, want := range []string{
		`level=INFO msg="state changed" app=web from=none to=drift keys=2 add=1 update=1 extra=0 ecs=0`,
		`level=INFO msg=check apps=1 clean=0 drift=1 error=0 keys=2 changed=1 duration_ms=`,
		`level=INFO msg="state changed" app=web from=drift to=clean keys=0 add=0 update=0 extra=0 ecs=0`,
		`level=INFO msg=check apps=1 clean=1 drift=0 error=0 keys=0 changed=1 duration_ms=`,
		`level=INFO msg=check apps=1 clean=1 drift=0 error=0 keys=0 changed=0 duration_ms=`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, `msg="state changed"`); n != 2 {
		t.Errorf("%d state-change lines; want 2 (none→drift, drift→clean):\n%s", n, logs)
	}
	if strings.Contains(logs, "4f1c9e") || strings.Contains(logs, "7d2b8a") {
		t.Errorf("a value reached the logs:\n%s", logs)
	}
}

// With --log-format json every line is one JSON object with the same fields.
func TestWatchLogJSON(t *testing.T) {
	var buf bytes.Buffer
	app := newApp(strings.NewReader(""), io.Discard, &buf)
	var log *slog.Logger
	app.Commands = []*cli.Command{{Name: "w", Flags: watchCommand().Flags, Action: func(c *cli.Context) (err error) {
		log, err = watchLogger(c)
		return err
	}}}
	if err := app.Run([]string{"envsync", "w", "--log-format", "json"}); err != nil {
		t.Fatal(err)
	}
	web := &envsync.App{Name: "web"}
	d := &envsync.AppDrift{App: web, Changes: []envsync.Change{{Key: "FEATURE_A", Action: envsync.Update, Old: "off-7d2b8a", New: "on-4f1c9e"}}}
	logStateChange(log, d, true, "")
	logCheck(t.Context(), log, []*envsync.AppDrift{d}, 1, 42*time.Millisecond)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines; want 2:\n%s", len(lines), buf.String())
	}
	var change, check map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &change); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &check); err != nil {
		t.Fatal(err)
	}
	if change["msg"] != "state changed" || change["app"] != "web" || change["from"] != "clean" || change["to"] != "drift" || change["update"] != 1.0 {
		t.Errorf("state change: %v", change)
	}
	if check["msg"] != "check" || check["drift"] != 1.0 || check["duration_ms"] != 42.0 {
		t.Errorf("check: %v", check)
	}
	if strings.Contains(buf.String(), "7d2b8a") || strings.Contains(buf.String(), "4f1c9e") {
		t.Errorf("a value reached the logs: %s", buf.String())
	}
}

package heroku

import (
	"bytes"
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/heroku/herokutest"
	"github.com/envsync/envsync/sinks/sinktest"
	"github.com/envsync/envsync/sinks/sinktest/faultproxy"
)

const token = "01234567-89ab-cdef-0123-456789abcdef"

func server(t *testing.T) *herokutest.Server {
	srv := herokutest.New(t, token)
	t.Setenv("HEROKU_API_URL", srv.URL)
	t.Setenv("HEROKU_API_KEY", token)
	return srv
}

func open(t *testing.T, app string) envsync.Store {
	st, err := envsync.Open(t.Context(), "heroku://"+app, envsync.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestContract(t *testing.T) {
	srv := server(t)
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T, opts envsync.OpenOptions) envsync.Store {
			app := sinktest.Name("app")
			srv.SetConfig(app, nil)
			st, err := envsync.Open(t.Context(), "heroku://"+app, opts)
			if err != nil {
				t.Fatal(err)
			}
			// A Heroku app always exists; start from a known empty state.
			return &emptyStart{Store: st}
		},
		Multiline:   true,
		EmptyValues: true,
	})
}

// emptyStart reports an app with no config vars as not existing yet, the
// state the contract starts from.
type emptyStart struct{ envsync.Store }

func (e *emptyStart) Read(ctx context.Context) (*envsync.Snapshot, error) {
	s, err := e.Store.Read(ctx)
	if err == nil && len(s.Vars) == 0 {
		s.Exists = false
	}
	return s, err
}

func TestAddons(t *testing.T) {
	srv := server(t)
	srv.SetConfig("acme", map[string]string{"RAILS_ENV": "production"})
	srv.AddAddon("acme", "postgresql-round-12345", "heroku-postgresql", map[string]string{"DATABASE_URL": "postgres://u:p@h/d"})
	snap, err := open(t, "acme").Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Addons["DATABASE_URL"] != "heroku-postgresql" || snap.Addons["RAILS_ENV"] != "" || len(snap.Vars) != 2 {
		t.Fatalf("snapshot = %+v", snap)
	}
}

func TestNetrc(t *testing.T) {
	srv := server(t)
	srv.SetConfig("acme", map[string]string{"A": "1"})
	t.Setenv("HEROKU_API_KEY", "")
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("NETRC", "")
	if _, err := open(t, "acme").Read(t.Context()); !errors.Is(err, envsync.ErrAccessDenied) || !strings.Contains(envsync.Hint(err), "heroku login") {
		t.Fatalf("no token: err = %v (hint %q)", err, envsync.Hint(err))
	}
	os.WriteFile(filepath.Join(dir, ".netrc"), []byte("machine git.heroku.com\n  login a@b.c\n  password x\nmachine api.heroku.com\n  login a@b.c\n  password "+token+"\n"), 0o600)
	if snap, err := open(t, "acme").Read(t.Context()); err != nil || snap.Vars["A"] != "1" {
		t.Fatalf("netrc token: %v, %v", snap, err)
	}
}

func TestErrors(t *testing.T) {
	srv := server(t)
	srv.SetConfig("mine", map[string]string{"SECRET_KEY_BASE": "topsecretvalue"})
	srv.SetConfig("theirs", nil)
	srv.Forbid("theirs")
	ctx := t.Context()
	if _, err := open(t, "nope").Read(ctx); !errors.Is(err, envsync.ErrNotFound) || envsync.Hint(err) == "" {
		t.Errorf("unknown app: %v", err)
	}
	if _, err := open(t, "theirs").Read(ctx); !errors.Is(err, envsync.ErrAccessDenied) {
		t.Errorf("forbidden app: %v", err)
	}
	t.Setenv("HEROKU_API_KEY", "wrong")
	_, err := open(t, "mine").Read(ctx)
	if !errors.Is(err, envsync.ErrAccessDenied) || !strings.Contains(envsync.Hint(err), "heroku login") {
		t.Errorf("bad token: %v", err)
	}
	if strings.Contains(err.Error(), "topsecretvalue") {
		t.Error("an error contains a value")
	}
}

func TestRetries(t *testing.T) {
	srv := server(t)
	srv.SetConfig("acme", map[string]string{"A": "1"})
	ctx := t.Context()
	st := open(t, "acme")

	srv.FailNext(http.MethodGet, 1, http.StatusTooManyRequests, "1")
	srv.FailNext(http.MethodGet, 1, http.StatusServiceUnavailable, "")
	before := srv.Count(http.MethodGet)
	snap, err := st.Read(ctx)
	if err != nil || snap.Vars["A"] != "1" {
		t.Fatalf("read after 429 and 503: %v", err)
	}
	if n := srv.Count(http.MethodGet) - before; n != 4 { // 2 failures + config-vars + addons
		t.Fatalf("%d GETs; want 4", n)
	}

	// A 5xx on PATCH is not retried: it may have been applied.
	srv.FailNext(http.MethodPatch, 1, http.StatusInternalServerError, "")
	err = st.Write(ctx, &envsync.WriteRequest{Base: snap, Vars: map[string]string{"A": "2"}})
	if err == nil || srv.Count(http.MethodPatch) != 1 {
		t.Fatalf("PATCH after 500: err=%v, %d PATCHes; want an error and 1", err, srv.Count(http.MethodPatch))
	}
	// A 429 on PATCH was refused, so it is retried.
	srv.FailNext(http.MethodPatch, 1, http.StatusTooManyRequests, "0")
	if err := st.Write(ctx, &envsync.WriteRequest{Base: snap, Vars: map[string]string{"A": "3"}}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Config("acme")["A"]; got != "3" {
		t.Fatalf("A = %q after the retried PATCH", got)
	}

	// Bounded: a persistent 503 gives up with ErrUnreachable; each of the
	// read's two GETs (side by side) makes at most MaxAttempts.
	srv.FailNext(http.MethodGet, 10, http.StatusServiceUnavailable, "")
	before = srv.Count(http.MethodGet)
	if _, err := st.Read(ctx); !errors.Is(err, envsync.ErrUnreachable) {
		t.Fatalf("persistent 503: %v", err)
	}
	if n := srv.Count(http.MethodGet) - before; n < MaxAttempts || n > 2*MaxAttempts {
		t.Fatalf("%d attempts; want %d to %d", n, MaxAttempts, 2*MaxAttempts)
	}
}

func TestPatchNullDeletes(t *testing.T) {
	srv := server(t)
	srv.SetConfig("acme", map[string]string{"KEEP": "1", "DROP": "2"})
	st := open(t, "acme")
	base, _ := st.Read(t.Context())
	if err := st.Write(t.Context(), &envsync.WriteRequest{Base: base, Vars: map[string]string{"KEEP": "1", "NEW": "multi\nline"}}); err != nil {
		t.Fatal(err)
	}
	got := srv.Config("acme")
	if _, ok := got["DROP"]; ok || got["NEW"] != "multi\nline" || len(got) != 2 {
		t.Fatalf("config = %v", got)
	}
}

// A reply that is not valid JSON (cut off, or not JSON at all) is not a
// network problem: it is reported as invalid, with no network hint.
func TestMalformedReply(t *testing.T) {
	srv := server(t)
	srv.SetConfig("acme", map[string]string{"A": "1"})
	p := faultproxy.Start(srv.URL)
	defer p.Close()
	t.Setenv("HEROKU_API_URL", p.URL)
	for _, body := range []string{`{"A": "1`, `<html>bad gateway</html>`} {
		p.SetRule(func(r *faultproxy.Request) faultproxy.Action {
			return faultproxy.Action{Kind: faultproxy.Respond, Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
		})
		_, err := open(t, "acme").Read(t.Context())
		if !errors.Is(err, envsync.ErrInvalid) || errors.Is(err, envsync.ErrUnreachable) || strings.Contains(envsync.Hint(err), "network") {
			t.Errorf("%q: err = %v (hint %q); want invalid, not unreachable", body, err, envsync.Hint(err))
		}
	}
}

// heroku-go logs through the standard logger when the client's Timeout
// fires and the transport cannot cancel: nothing may be logged.
func TestNoCancelRequestLog(t *testing.T) {
	srv := server(t)
	srv.SetConfig("acme", map[string]string{"A": "1"})
	p := faultproxy.Start(srv.URL)
	defer p.Close()
	t.Setenv("HEROKU_API_URL", p.URL)
	p.SetRule(func(r *faultproxy.Request) faultproxy.Action { return faultproxy.Action{Kind: faultproxy.Hang} })
	var buf bytes.Buffer
	log.SetOutput(&buf)
	defer log.SetOutput(os.Stderr)
	defer func(d time.Duration) { callTimeout = d }(callTimeout)
	callTimeout = 200 * time.Millisecond
	if _, err := open(t, "acme").Read(t.Context()); err == nil {
		t.Fatal("read through a hanging proxy succeeded")
	}
	if buf.Len() > 0 {
		t.Errorf("logged: %q", buf.String())
	}
}

// A read costs two GETs (config vars and add-ons, side by side), or one when
// add-on ownership is not needed (drift).
func TestReadRequests(t *testing.T) {
	srv := server(t)
	srv.SetConfig("web", map[string]string{"RAILS_ENV": "production"})
	srv.AddAddon("web", "postgresql-1", "heroku-postgresql", map[string]string{"DATABASE_URL": "postgres://u:p@h/db"})
	for _, tc := range []struct {
		noAddons bool
		gets     int
		owner    string
	}{{false, 2, "heroku-postgresql"}, {true, 1, ""}} {
		before := srv.Count(http.MethodGet)
		st, err := envsync.Open(t.Context(), "heroku://web", envsync.OpenOptions{NoAddons: tc.noAddons})
		if err != nil {
			t.Fatal(err)
		}
		snap, err := st.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n := srv.Count(http.MethodGet) - before; n != tc.gets {
			t.Errorf("NoAddons=%v: %d GETs; want %d", tc.noAddons, n, tc.gets)
		}
		if snap.Addons["DATABASE_URL"] != tc.owner || snap.Vars["RAILS_ENV"] != "production" {
			t.Errorf("NoAddons=%v: vars %d, DATABASE_URL owner %q; want owner %q", tc.noAddons, len(snap.Vars), snap.Addons["DATABASE_URL"], tc.owner)
		}
	}
}

// Requests paced by a budget spend it, and the budget learns what is left
// from RateLimit-Remaining.
func TestPacingCountsTokens(t *testing.T) {
	srv := server(t)
	srv.RateLimit(100, 75, 1)
	srv.SetConfig("web", map[string]string{"A": "1"})
	b := envsync.NewRateBudget(75.0/60, 10)
	st, err := envsync.Open(t.Context(), "heroku://web", envsync.OpenOptions{RateLimit: b})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := st.Read(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if b.Used() != 6 || b.Left() < 93 || b.Left() > 94 {
		t.Errorf("used %d, left %d; want 6 used and 94 left (93 if a token refilled)", b.Used(), b.Left())
	}
}

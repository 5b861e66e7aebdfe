// Package heroku reads and writes a Heroku app's config vars (heroku://APP)
// through the Platform API with heroku-go/v5.
//
// The token comes from HEROKU_API_KEY, else from the netrc file the Heroku
// CLI writes on `heroku login` (machine api.heroku.com; NETRC overrides the
// path, else ~/.netrc). The base URL comes from HEROKU_API_URL. GETs are
// retried on 429 and 5xx with backoff that honours Retry-After, bounded; a
// PATCH is retried only on 429, when Heroku refused it without applying it.
package heroku

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	heroku "github.com/heroku/heroku-go/v5"
	netrc "github.com/jdx/go-netrc"
	"golang.org/x/sync/errgroup"

	"github.com/envsync/envsync"
)

func init() { envsync.Register("heroku", Open) }

// Retry bounds: at most MaxAttempts per call and MaxWait in total, so a drift
// check finds an unreachable API within a minute.
const (
	MaxAttempts = 4
	MaxWait     = 30 * time.Second
)

// Store is one Heroku app's config vars.
type Store struct {
	url, app string
	opts     envsync.OpenOptions
	svc      *heroku.Service
}

// Open parses heroku://APP. It makes no call and does not need a token yet.
func Open(_ context.Context, u *url.URL, opts envsync.OpenOptions) (envsync.Store, error) {
	app := u.Host
	if app == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("%w: %q: want heroku://APP", envsync.ErrInvalid, u.String())
	}
	return &Store{url: u.String(), app: app, opts: opts}, nil
}

// SourceOnly: heroku:// is read as a source (and written by flags --heroku),
// never a route that import or plan writes or prunes.
func (s *Store) SourceOnly() bool { return true }

// Preflight: a write needs an API token (HEROKU_API_KEY or the netrc file).
func (s *Store) Preflight() error {
	_, err := Token()
	return err
}

// HoldsSecrets: Heroku config vars hold secrets today.
func (s *Store) HoldsSecrets() bool { return true }

var errNoToken = envsync.WithHint(fmt.Errorf("no Heroku API token: %w", envsync.ErrAccessDenied),
	"run `heroku login` or set HEROKU_API_KEY")

// Token finds the API token like the Heroku CLI: HEROKU_API_KEY, else the
// password of machine api.heroku.com in the netrc file.
func Token() (string, error) {
	if t := os.Getenv("HEROKU_API_KEY"); t != "" {
		return t, nil
	}
	path := os.Getenv("NETRC")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", errNoToken
		}
		path = filepath.Join(home, ".netrc")
	}
	if _, err := os.Stat(path); err != nil {
		return "", errNoToken
	}
	n, err := netrc.Parse(path)
	if err != nil {
		return "", envsync.WithHint(fmt.Errorf("reading %s: %w", path, err), "fix the file, or run `heroku login` again")
	}
	if m := n.Machine("api.heroku.com"); m != nil && m.Get("password") != "" {
		return m.Get("password"), nil
	}
	return "", errNoToken
}

// callTimeout bounds one HTTP call (the command's deadline bounds them all).
var callTimeout = 20 * time.Second

func (s *Store) service() (*heroku.Service, error) {
	if s.svc != nil {
		return s.svc, nil
	}
	token, err := Token()
	if err != nil {
		return nil, err
	}
	var next http.RoundTripper = http.DefaultTransport
	if s.opts.HTTPClient != nil && s.opts.HTTPClient.Transport != nil {
		next = s.opts.HTTPClient.Transport
	}
	svc := heroku.NewService(&http.Client{
		Timeout: callTimeout,
		Transport: &heroku.Transport{
			BearerToken: token,
			UserAgent:   "envsync/" + envsync.Version,
			Transport:   &retrying{next: &pacing{budget: s.opts.RateLimit, next: next}},
		},
	})
	if base := os.Getenv("HEROKU_API_URL"); base != "" {
		svc.URL = strings.TrimSuffix(base, "/")
	}
	s.svc = svc
	return svc, nil
}

// Read returns the config vars and which add-on owns which var: two GETs
// side by side, or only the config vars (one GET) with OpenOptions.NoAddons.
func (s *Store) Read(ctx context.Context) (*envsync.Snapshot, error) {
	svc, err := s.service()
	if err != nil {
		return nil, err
	}
	var (
		cv     heroku.ConfigVarInfoForAppResult
		addons heroku.AddOnListByAppResult
	)
	// Both GETs run to the end (no cancel on the first error), so the error
	// reported is always the config vars' when both fail: deterministic.
	var g errgroup.Group
	var cvErr, addErr error
	g.Go(func() error {
		if cv, cvErr = svc.ConfigVarInfoForApp(ctx, s.app); cvErr != nil {
			cvErr = s.wrap("reading config vars of", cvErr)
		}
		return nil
	})
	if !s.opts.NoAddons {
		g.Go(func() error {
			if addons, addErr = svc.AddOnListByApp(ctx, s.app, nil); addErr != nil {
				addErr = s.wrap("listing add-ons of", addErr)
			}
			return nil
		})
	}
	g.Wait()
	if err := cmp.Or(cvErr, addErr); err != nil {
		return nil, err
	}
	snap := &envsync.Snapshot{Vars: make(map[string]string, len(cv)), Exists: true, Addons: map[string]string{}}
	for k, v := range cv {
		if v != nil {
			snap.Vars[k] = *v
		}
	}
	for _, a := range addons {
		owner := a.AddonService.Name
		if owner == "" {
			owner = a.Name
		}
		for _, name := range a.ConfigVars {
			if _, ok := snap.Vars[name]; ok {
				snap.Addons[name] = owner
			}
		}
	}
	return snap, nil
}

// ReleaseDepth is how many of the newest releases LastChanged reads: one call.
const ReleaseDepth = 200

// LastChanged reads the app's newest releases (one call) and returns, for
// each key, when the newest config release that names it was created
// ("Set A, B config vars", "Remove A config vars"). A rollback or an
// add-on change names no key, so it never counts: envsync then cannot tell
// that the source is newer, and holds the flag change.
func (s *Store) LastChanged(ctx context.Context, keys []string) (map[string]time.Time, error) {
	svc, err := s.service()
	if err != nil {
		return nil, err
	}
	rels, err := svc.ReleaseList(ctx, s.app, &heroku.ListRange{Field: "version", Max: ReleaseDepth, Descending: true})
	if err != nil {
		return nil, s.wrap("listing releases of", err)
	}
	slices.SortFunc(rels, func(a, b heroku.Release) int { return b.Version - a.Version })
	out := map[string]time.Time{}
	for _, r := range rels {
		if !strings.Contains(strings.ToLower(r.Description), "config var") {
			continue
		}
		words := strings.FieldsFunc(r.Description, func(c rune) bool {
			return !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
		})
		for _, k := range keys {
			if _, found := out[k]; !found && slices.Contains(words, k) {
				out[k] = r.CreatedAt
			}
		}
	}
	return out, nil
}

// Write sends one PATCH with the changed values and null for removed keys.
// Heroku has no ETag on config vars: the last writer wins.
func (s *Store) Write(ctx context.Context, req *envsync.WriteRequest) error {
	patch := map[string]*string{}
	for _, k := range slices.Sorted(maps.Keys(req.Vars)) {
		if old, ok := req.Base.Vars[k]; !ok || old != req.Vars[k] {
			patch[k] = new(req.Vars[k])
		}
	}
	for k := range req.Base.Vars {
		if _, ok := req.Vars[k]; !ok {
			patch[k] = nil
		}
	}
	if len(patch) == 0 {
		return nil
	}
	svc, err := s.service()
	if err != nil {
		return err
	}
	if _, err := svc.ConfigVarUpdate(ctx, s.app, patch); err != nil {
		err = s.wrap("updating config vars of", err)
		if envsync.Hint(err) == "" {
			err = envsync.WithHint(err, "the change may or may not have been applied: run envsync plan to see")
		}
		return err
	}
	return nil
}

func (s *Store) wrap(what string, err error) error {
	var he heroku.Error
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusUnauthorized:
			return envsync.WithHint(fmt.Errorf("%s %s: %w: %s", what, s.url, envsync.ErrAccessDenied, he.Error()), "run `heroku login` or set HEROKU_API_KEY")
		case http.StatusForbidden:
			return envsync.WithHint(fmt.Errorf("%s %s: %w: %s", what, s.url, envsync.ErrAccessDenied, he.Error()), "the token's account has no access to app "+s.app)
		case http.StatusNotFound:
			return envsync.WithHint(fmt.Errorf("%s %s: %w", what, s.url, envsync.ErrNotFound), "check the app name in the config (heroku apps lists yours)")
		case http.StatusTooManyRequests:
			return envsync.WithHint(fmt.Errorf("%s %s: %w: rate limited", what, s.url, envsync.ErrUnreachable), "Heroku allows 4500 calls an hour per account; try again later")
		}
		if he.StatusCode >= 500 {
			return fmt.Errorf("%s %s: %w: Heroku answered %d", what, s.url, envsync.ErrUnreachable, he.StatusCode)
		}
		return fmt.Errorf("%s %s: %s", what, s.url, he.Error())
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) {
		// Heroku answered, but not with the JSON the Platform API documents:
		// not a network problem.
		return envsync.WithHint(fmt.Errorf("%s %s: %w: Heroku's reply is not the JSON the Platform API sends (cut off or malformed)", what, s.url, envsync.ErrInvalid),
			"try again; if it persists, check that HEROKU_API_URL (if set) points at the Heroku Platform API and that no proxy rewrites replies")
	}
	return envsync.WithHint(fmt.Errorf("%s %s: %w: %v", what, s.url, envsync.ErrUnreachable, err), "check the network and HEROKU_API_URL")
}

// retrying retries idempotent calls (GET, HEAD) on 429, 5xx and network
// errors, and any call on 429 (refused, not applied), with exponential
// backoff and jitter that honours Retry-After, within MaxAttempts and MaxWait.
type retrying struct{ next http.RoundTripper }

// CancelRequest is a no-op: requests are cancelled through their context.
// Without it heroku-go logs "Client Transport … doesn't support
// CancelRequest" to stderr whenever the client's Timeout fires.
func (r *retrying) CancelRequest(*http.Request) {}

func (r *retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	idempotent := req.Method == http.MethodGet || req.Method == http.MethodHead
	deadline := time.Now().Add(MaxWait)
	for attempt := 1; ; attempt++ {
		resp, err := r.next.RoundTrip(req)
		retry := false
		var wait time.Duration
		switch {
		case err != nil:
			retry = idempotent && req.Context().Err() == nil
		case resp.StatusCode == http.StatusTooManyRequests:
			retry, wait = true, retryAfter(resp.Header.Get("Retry-After"))
		case resp.StatusCode >= 500 && idempotent:
			retry, wait = true, retryAfter(resp.Header.Get("Retry-After"))
		}
		if !retry || attempt >= MaxAttempts {
			return resp, err
		}
		if wait == 0 {
			base := 200 * time.Millisecond << (attempt - 1)
			wait = base + time.Duration(rand.Int64N(int64(base)))
		}
		if time.Now().Add(wait).After(deadline) {
			return resp, err
		}
		if resp != nil {
			resp.Body.Close()
		}
		if req.GetBody != nil {
			body, gerr := req.GetBody()
			if gerr != nil {
				return nil, gerr
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(wait):
		}
	}
}

// retryAfter parses Retry-After: seconds or an HTTP date; 0 when absent.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// pacing spends the run's rate-limit budget: each request waits until the
// account's bucket can afford it (see envsync.RateBudget), and each answer's
// RateLimit-Remaining tells the budget what is left.
type pacing struct {
	budget *envsync.RateBudget // nil: no pacing
	next   http.RoundTripper
}

func (p *pacing) RoundTrip(req *http.Request) (*http.Response, error) {
	if p.budget == nil {
		return p.next.RoundTrip(req)
	}
	done, err := p.budget.Take(req.Context())
	if err != nil {
		return nil, err
	}
	resp, err := p.next.RoundTrip(req)
	remaining := envsync.NoAnswer
	if err == nil {
		remaining = envsync.NoHeader
		if n, perr := strconv.Atoi(strings.TrimSpace(resp.Header.Get("RateLimit-Remaining"))); perr == nil {
			remaining = n
		}
	}
	done(remaining)
	return resp, err
}

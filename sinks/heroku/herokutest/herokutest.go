// Package herokutest is a local server that behaves like the parts of the
// Heroku Platform API envsync uses (https://devcenter.heroku.com/articles/platform-api-reference):
// bearer-token auth, the "Accept: application/vnd.heroku+json; version=3"
// header, GET and PATCH /apps/{app}/config-vars (PATCH sets values, JSON
// null deletes, the response is the full new object), GET
// /apps/{app}/addons with each add-on's config_vars, Heroku's JSON error
// bodies ({"id": "not_found", "message": …}), injected 429/5xx failures
// with Retry-After, the app, team and pipeline listings (listing.go), and
// GET /apps/{app}/releases: every config change makes a release described
// like Heroku's ("Set A, B config vars", "Remove C config vars"), listed by
// version with the Range header's max and order=desc. Tests run the real
// heroku-go client against it.
package herokutest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one request the server saw.
type Request struct {
	Method, Path string
	Status       int
}

// Server is a fake Heroku Platform API.
type Server struct {
	*httptest.Server
	token string

	mu        sync.Mutex
	apps      map[string]*app
	forbidden map[string]bool
	failures  []failure
	requests  []Request
	bucket    *bucket
	pipelines []*pipeline
}

// bucket is Heroku's per-account rate limit: capacity request tokens, each
// request takes one, refilled continuously; an empty bucket answers 429
// (https://devcenter.heroku.com/articles/platform-api-reference#rate-limits).
type bucket struct {
	capacity, tokens, perSecond float64
	at                          time.Time
}

type app struct {
	id       string
	team     string
	config   map[string]string
	addons   []addon
	releases []release
}

// release is one entry of an app's release log.
type release struct {
	Version     int       `json:"version"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

// release records a config change of keys set and removed.
func (a *app) release(set, removed []string) {
	slices.Sort(set)
	slices.Sort(removed)
	var parts []string
	if len(set) > 0 {
		parts = append(parts, "Set "+strings.Join(set, ", "))
	}
	if len(removed) > 0 {
		verb := "Remove "
		if len(parts) > 0 {
			verb = "remove "
		}
		parts = append(parts, verb+strings.Join(removed, ", "))
	}
	if len(parts) == 0 {
		return
	}
	a.releases = append(a.releases, release{Version: len(a.releases) + 1, Description: strings.Join(parts, " and ") + " config vars", CreatedAt: time.Now().UTC()})
}

type addon struct {
	Name    string
	Service string
	Vars    []string
}

type failure struct {
	app        string // "" for any app
	method     string
	status     int
	retryAfter string
}

// New starts a server that accepts token; it stops when the test ends.
func New(t testing.TB, token string) *Server {
	s := &Server{token: token, apps: map[string]*app{}, forbidden: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) app(name string) *app {
	a := s.apps[name]
	if a == nil {
		a = &app{id: fmt.Sprintf("01234567-89ab-cdef-0123-%012d", len(s.apps)+1), config: map[string]string{}}
		s.apps[name] = a
	}
	return a
}

// SetConfig sets (merges) an app's config vars, creating the app; like a
// change on the dashboard, it makes a release.
func (s *Server) SetConfig(name string, vars map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(name)
	maps.Copy(a.config, vars)
	a.release(slices.Collect(maps.Keys(vars)), nil)
}

// AddAddon attaches an add-on that owns vars (and sets them).
func (s *Server) AddAddon(appName, addonName, service string, vars map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(appName)
	maps.Copy(a.config, vars)
	ad := addon{Name: addonName, Service: service}
	for k := range vars {
		ad.Vars = append(ad.Vars, k)
	}
	a.addons = append(a.addons, ad)
}

// Forbid makes the app answer 403 (the token's account has no access).
func (s *Server) Forbid(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden[name] = true
}

// Config returns a copy of an app's config vars.
func (s *Server) Config(name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[name]; a != nil {
		return maps.Clone(a.config)
	}
	return nil
}

// FailNext makes the next n requests with method answer status, with a
// Retry-After header when retryAfter is not "".
func (s *Server) FailNext(method string, n, status int, retryAfter string) {
	s.FailNextFor("", method, n, status, retryAfter)
}

// FailNextFor is FailNext for the requests about one app only, so tests that
// share the server do not meet each other's failures.
func (s *Server) FailNextFor(app, method string, n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{app, method, status, retryAfter})
	}
}

// RateLimit gives the account a bucket of capacity request tokens (Heroku:
// 4500), refilled at perMinute tokens a minute (Heroku: about 75), starting
// full. Every authenticated request takes a token and says how many are left
// in RateLimit-Remaining; with the bucket empty the answer is 429. scale
// speeds the server's clock up for tests: at scale 60 a minute of refill
// takes a second.
func (s *Server) RateLimit(capacity int, perMinute, scale float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucket = &bucket{capacity: float64(capacity), tokens: float64(capacity), perSecond: perMinute / 60 * scale, at: time.Now()}
}

// Throttled counts the requests answered 429.
func (s *Server) Throttled() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}

// take spends a token, reporting whether there was one; it sets
// RateLimit-Remaining.
func (b *bucket) take(w http.ResponseWriter) bool {
	now := time.Now()
	b.tokens = min(b.capacity, b.tokens+now.Sub(b.at).Seconds()*b.perSecond)
	b.at = now
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	w.Header().Set("RateLimit-Remaining", strconv.Itoa(int(b.tokens)))
	return ok
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count counts the requests seen with method.
func (s *Server) Count(method string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method {
			n++
		}
	}
	return n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	status := s.handle(w, r)
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: status})
}

func writeErr(w http.ResponseWriter, status int, id, msg string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"id": id, "message": msg})
	return status
}

func writeJSON(w http.ResponseWriter, v any) int {
	w.Header().Set("Content-Type", "application/json")
	if w.Header().Get("RateLimit-Remaining") == "" {
		w.Header().Set("RateLimit-Remaining", "4499")
	}
	json.NewEncoder(w).Encode(v)
	return http.StatusOK
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) int {
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		return writeErr(w, http.StatusUnauthorized, "unauthorized", "Invalid credentials provided.")
	}
	// The API answers requests without the version=3 Accept header with an error.
	if !strings.Contains(r.Header.Get("Accept"), "application/vnd.heroku+json; version=3") {
		return writeErr(w, http.StatusBadRequest, "bad_request", "Please specify a version along with Heroku's API MIME type.")
	}
	if s.bucket != nil && !s.bucket.take(w) {
		return writeErr(w, http.StatusTooManyRequests, "rate_limit", "Your account reached the API rate limit")
	}
	for i, f := range s.failures {
		if f.method == r.Method && (f.app == "" || strings.HasPrefix(r.URL.Path, "/apps/"+f.app+"/") || r.URL.Path == "/apps/"+f.app) {
			s.failures = append(s.failures[:i], s.failures[i+1:]...)
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			if f.status == http.StatusTooManyRequests {
				w.Header().Set("RateLimit-Remaining", "0")
				return writeErr(w, f.status, "rate_limit", "Your account reached the API rate limit.")
			}
			return writeErr(w, f.status, "internal_server_error", "Internal server error.")
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if status, ok := s.handleListing(w, r, parts); ok {
		return status
	}
	if len(parts) != 3 || parts[0] != "apps" {
		return writeErr(w, http.StatusNotFound, "not_found", "The requested API endpoint was not found.")
	}
	name := parts[1]
	if s.forbidden[name] {
		return writeErr(w, http.StatusForbidden, "forbidden", "You do not have access to the app "+name+".")
	}
	a := s.apps[name]
	if a == nil {
		return writeErr(w, http.StatusNotFound, "not_found", "Couldn't find that app.")
	}
	switch {
	case parts[2] == "config-vars" && r.Method == http.MethodGet:
		return writeJSON(w, a.config)
	case parts[2] == "config-vars" && r.Method == http.MethodPatch:
		var patch map[string]*string
		if err := json.NewDecoder(r.Body).Decode(&patch); err != nil {
			return writeErr(w, http.StatusBadRequest, "bad_request", "Invalid JSON.")
		}
		var set, removed []string
		for k, v := range patch {
			if v == nil {
				delete(a.config, k)
				removed = append(removed, k)
			} else {
				a.config[k] = *v
				set = append(set, k)
			}
		}
		a.release(set, removed)
		return writeJSON(w, a.config)
	case parts[2] == "releases" && r.Method == http.MethodGet:
		rng := r.Header.Get("Range") // e.g. "version ..; max=200, order=desc"
		out := slices.Clone(a.releases)
		if strings.Contains(rng, "order=desc") {
			slices.Reverse(out)
		}
		max := 200
		if i := strings.Index(rng, "max="); i >= 0 {
			fmt.Sscanf(rng[i+4:], "%d", &max)
		}
		if len(out) > max {
			out = out[:max]
		}
		return writeJSON(w, out)
	case parts[2] == "addons" && r.Method == http.MethodGet:
		out := []map[string]any{}
		for _, ad := range a.addons {
			out = append(out, map[string]any{
				"name": ad.Name, "config_vars": ad.Vars,
				"addon_service": map[string]string{"name": ad.Service},
				"app":           map[string]string{"name": name, "id": a.id},
			})
		}
		return writeJSON(w, out)
	}
	return writeErr(w, http.StatusNotFound, "not_found", "The requested API endpoint was not found.")
}

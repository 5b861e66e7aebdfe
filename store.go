package envsync

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Snapshot is what a store held when it was read.
type Snapshot struct {
	// Vars is the store's content, name → value. Never nil.
	Vars map[string]string
	// Exists is false when the store (object, secret, file, variable) does not
	// exist yet; Vars is then empty.
	Exists bool
	// Version is an opaque token that a conditional write checks (an S3 ETag,
	// a file's hash); "" when the store does not exist.
	Version string
	// Addons maps a variable to the Heroku add-on that owns it (heroku:// only).
	Addons map[string]string
	// Meta is metadata kept with the content (S3 object metadata), if any.
	Meta map[string]string
	// Modified is when the content last changed, where the store knows it.
	Modified time.Time
}

// EmptySnapshot is the snapshot of a store that does not exist yet.
func EmptySnapshot() *Snapshot { return &Snapshot{Vars: map[string]string{}} }

// Source is anything variables can be read from.
type Source interface {
	// Read returns the current content. A store that does not exist yet is
	// not an error: it returns a snapshot with Exists false and no Vars.
	// Errors wrap ErrAccessDenied, ErrUnreachable or ErrInvalid where they apply.
	Read(ctx context.Context) (*Snapshot, error)
}

// Store is a place variables are kept: an S3 env file, a tfvars variable, a
// secret, a Heroku app, a local file.
type Store interface {
	Source
	// Write makes the store hold exactly req.Vars. It is conditional on
	// req.Base: when the store changed since Base was read it returns an error
	// wrapping ErrConflict and writes nothing. Values the store cannot carry
	// are refused, before any write, with an error wrapping ErrUnrepresentable.
	// When req.Vars equals req.Base.Vars (and the store exists) it makes no call.
	Write(ctx context.Context, req *WriteRequest) error
}

// WriteRequest is one write to a store.
type WriteRequest struct {
	// Base is the snapshot the new content was computed from. Never nil.
	Base *Snapshot
	// Vars is the complete new content.
	Vars map[string]string
	// Sensitive is true when Vars holds secret values (a file: store then
	// writes with mode 0600).
	Sensitive bool
	// Meta is kept with the content by stores that can (S3 object metadata):
	// who, why, the envsync version.
	Meta map[string]string
}

// Preflighter is implemented by stores that can tell, without a call, that
// a write is bound to fail (no credentials configured). A command that
// writes two stores asks the second before writing the first, so nothing is
// left half-written for a reason known up front.
type Preflighter interface {
	Preflight() error
}

// Preflight asks st, when it can tell, whether a write can go ahead.
func Preflight(st Store) error {
	if p, ok := st.(Preflighter); ok {
		return p.Preflight()
	}
	return nil
}

// SecretHolder is implemented by stores that may hold class secret: Secrets
// Manager, a local file written 0600, Heroku itself. The engine refuses to
// route secrets to any store that does not implement it and return true.
type SecretHolder interface {
	HoldsSecrets() bool
}

// Unchanged reports whether a write of vars over base would change nothing.
func Unchanged(base *Snapshot, vars map[string]string) bool {
	return base != nil && base.Exists && maps.Equal(base.Vars, vars)
}

// OpenOptions are the settings every store is opened with.
type OpenOptions struct {
	// BaseDir resolves relative paths (tfvars:, file:); the config file's folder.
	BaseDir string
	// HTTPClient, when set, is used for every API call (it counts them in tests
	// and in `--verbose` runs). Nil means the SDK's default.
	HTTPClient *http.Client
	// Parallel is how many apps the run works on at once; stores size their
	// connection pools to it. 0 means the default.
	Parallel int
	// Files, when set, is the run's cache of parsed local files: a file two
	// routes share is parsed once.
	Files *FileCache
	// RateLimit, when set, is the run's share of a rate-limited API's budget
	// (Heroku's), shared by every goroutine of the run.
	RateLimit *RateBudget
	// NoAddons tells a heroku:// source that add-on ownership is not needed
	// (drift): it then reads an app with one request instead of two.
	NoAddons bool
}

// OpenFunc opens the store at u. It must not make network calls: problems
// with the URL are reported here, problems with the store on Read or Write.
type OpenFunc func(ctx context.Context, u *url.URL, opts OpenOptions) (Store, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]OpenFunc{}
)

// Register makes a store scheme available to Open. Stores call it from init.
func Register(scheme string, open OpenFunc) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[scheme]; dup {
		panic("envsync: Register called twice for scheme " + scheme)
	}
	registry[scheme] = open
}

// Schemes lists the registered schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return slices.Sorted(maps.Keys(registry))
}

// ParseStoreURL parses a store URL and checks that its scheme is registered.
func ParseStoreURL(raw string) (*url.URL, OpenFunc, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return nil, nil, fmt.Errorf("%w: %q is not a store URL (want one of %s)", ErrInvalid, raw, schemeList())
	}
	registryMu.RLock()
	open, ok := registry[strings.ToLower(u.Scheme)]
	registryMu.RUnlock()
	if !ok {
		return nil, nil, fmt.Errorf("%w %q in %q (want one of %s)", ErrUnknownScheme, u.Scheme, raw, schemeList())
	}
	return u, open, nil
}

func schemeList() string {
	s := Schemes()
	for i := range s {
		s[i] += ":"
	}
	if len(s) == 0 {
		return "no stores registered"
	}
	return strings.Join(s, ", ")
}

// Open opens the store addressed by raw, e.g. "s3://bucket/app.env".
func Open(ctx context.Context, raw string, opts OpenOptions) (Store, error) {
	u, open, err := ParseStoreURL(raw)
	if err != nil {
		return nil, err
	}
	st, err := open(ctx, u, opts)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", raw, err)
	}
	return st, nil
}

// IsSecretHolder reports whether st may hold class secret.
func IsSecretHolder(st Store) bool {
	h, ok := st.(SecretHolder)
	return ok && h.HoldsSecrets()
}

// ObjectVersion is one stored version of a versioned store (an S3 object).
type ObjectVersion struct {
	ID       string
	Modified time.Time
	Latest   bool
	Deleted  bool // a delete marker
}

// Versioned is implemented by stores that keep every version (S3 with
// bucket versioning): flags history and rollback use it.
type Versioned interface {
	// Versions lists the versions newest first, and whether versioning is on.
	Versions(ctx context.Context) ([]ObjectVersion, bool, error)
	// ReadVersion reads one version.
	ReadVersion(ctx context.Context, id string) (*Snapshot, error)
}

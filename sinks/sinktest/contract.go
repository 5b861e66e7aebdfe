package sinktest

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/envsync/envsync"
)

// Harness describes a store to the contract suite.
type Harness struct {
	// New returns a new, empty (not yet existing) store for one subtest,
	// opened with opts; opts.HTTPClient counts the store's API calls.
	New func(t *testing.T, opts envsync.OpenOptions) envsync.Store
	// LocalWrites, for stores that write local files rather than call an
	// API, returns how many writes the store has made so far.
	LocalWrites func() int
	// Multiline is true when the store can hold values with line breaks.
	Multiline bool
	// EmptyValues is true when the store can hold "".
	EmptyValues bool
	// Conditional is true when a write based on a stale snapshot is refused
	// with ErrConflict.
	Conditional bool
}

// Awkward values that dotenv parsers mangle but every store must carry.
var Awkward = map[string]string{
	"EQUALS":    "a=b=c",
	"HASH":      "#not-a-comment",
	"DOLLAR":    "$HOME ${PATH}",
	"DQUOTE":    `"quoted"`,
	"SQUOTE":    `'single'`,
	"BACKSLASH": `C:\path\n`,
	"UNICODE":   "héllo wörld ✓ 日本",
	"SPACES":    "  padded  ",
	"TRAILHASH": "value # not a comment",
	"EXPORT":    "export X=1",
	"LONG":      strings.Repeat("x", 8000),
}

// Run checks that a store keeps the envsync.Store contract.
func Run(t *testing.T, h Harness) {
	ctx := t.Context()
	open := func(t *testing.T) (envsync.Store, *envsync.CallCounter) {
		c := &envsync.CallCounter{}
		return h.New(t, envsync.OpenOptions{HTTPClient: c.Client(), BaseDir: t.TempDir()}), c
	}
	writes := func(c *envsync.CallCounter) int {
		n := c.Writes()
		if h.LocalWrites != nil {
			n += h.LocalWrites()
		}
		return n
	}

	t.Run("empty", func(t *testing.T) {
		st, _ := open(t)
		snap := read(ctx, t, st)
		if snap.Exists || len(snap.Vars) != 0 {
			t.Fatalf("new store: Exists=%v, %d vars; want a missing, empty store", snap.Exists, len(snap.Vars))
		}
	})

	t.Run("round-trip", func(t *testing.T) {
		st, _ := open(t)
		want := map[string]string{"RAILS_ENV": "production", "WEB_CONCURRENCY": "3"}
		write(ctx, t, st, read(ctx, t, st), want)
		got := read(ctx, t, st)
		if !got.Exists || !maps.Equal(got.Vars, want) {
			t.Fatalf("read after write: Exists=%v Vars=%v; want %v", got.Exists, got.Vars, want)
		}
	})

	t.Run("awkward-values", func(t *testing.T) {
		st, _ := open(t)
		write(ctx, t, st, read(ctx, t, st), Awkward)
		got := read(ctx, t, st)
		for k, v := range Awkward {
			if got.Vars[k] != v {
				t.Errorf("%s: got %q, want %q", k, got.Vars[k], v)
			}
		}
		if len(got.Vars) != len(Awkward) {
			t.Errorf("got %d vars, want %d", len(got.Vars), len(Awkward))
		}
	})

	t.Run("update-and-delete", func(t *testing.T) {
		st, _ := open(t)
		write(ctx, t, st, read(ctx, t, st), map[string]string{"A": "1", "B": "2"})
		want := map[string]string{"A": "one", "C": "3"}
		write(ctx, t, st, read(ctx, t, st), want)
		if got := read(ctx, t, st).Vars; !maps.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})

	t.Run("idempotent", func(t *testing.T) {
		st, c := open(t)
		vars := map[string]string{"A": "1", "B": "2"}
		write(ctx, t, st, read(ctx, t, st), vars)
		before := writes(c)
		write(ctx, t, st, read(ctx, t, st), maps.Clone(vars))
		if n := writes(c) - before; n != 0 {
			t.Fatalf("re-applying the same content made %d write call(s); want 0 (%v)", n, c.Calls())
		}
	})

	t.Run("multiline", func(t *testing.T) {
		st, _ := open(t)
		write(ctx, t, st, read(ctx, t, st), map[string]string{"KEEP": "1"})
		vars := map[string]string{"KEEP": "1", "PEM": "-----BEGIN X-----\nabc\n-----END X-----"}
		err := st.Write(ctx, &envsync.WriteRequest{Base: read(ctx, t, st), Vars: vars})
		if h.Multiline {
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			if got := read(ctx, t, st).Vars; !maps.Equal(got, vars) {
				t.Fatalf("got %q, want %q", got, vars)
			}
			return
		}
		refused(t, err, "PEM")
		if got := read(ctx, t, st).Vars; !maps.Equal(got, map[string]string{"KEEP": "1"}) {
			t.Fatalf("a refused write changed the store: %v", got)
		}
	})

	t.Run("empty-value", func(t *testing.T) {
		st, _ := open(t)
		vars := map[string]string{"FULL": "1", "EMPTY": ""}
		err := st.Write(ctx, &envsync.WriteRequest{Base: read(ctx, t, st), Vars: vars})
		if h.EmptyValues {
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			if got := read(ctx, t, st).Vars; !maps.Equal(got, vars) {
				t.Fatalf("got %q, want %q", got, vars)
			}
			return
		}
		refused(t, err, "EMPTY")
		if snap := read(ctx, t, st); snap.Exists {
			t.Fatalf("a refused write created the store: %v", snap.Vars)
		}
	})

	t.Run("stale-write", func(t *testing.T) {
		if !h.Conditional {
			t.Log("store has no conditional writes; last writer wins")
			return
		}
		st, _ := open(t)
		write(ctx, t, st, read(ctx, t, st), map[string]string{"A": "1"})
		stale := read(ctx, t, st)
		write(ctx, t, st, read(ctx, t, st), map[string]string{"A": "2"})
		err := st.Write(ctx, &envsync.WriteRequest{Base: stale, Vars: map[string]string{"A": "3"}})
		if !errors.Is(err, envsync.ErrConflict) {
			t.Fatalf("write over a stale snapshot: err = %v; want ErrConflict", err)
		}
		if got := read(ctx, t, st).Vars["A"]; got != "2" {
			t.Fatalf("after a refused stale write A = %q; want 2", got)
		}
		stale2 := envsync.EmptySnapshot()
		err = st.Write(ctx, &envsync.WriteRequest{Base: stale2, Vars: map[string]string{"A": "4"}})
		if !errors.Is(err, envsync.ErrConflict) {
			t.Fatalf("create over an existing store: err = %v; want ErrConflict", err)
		}
	})
}

func read(ctx context.Context, t *testing.T, st envsync.Store) *envsync.Snapshot {
	t.Helper()
	snap, err := st.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if snap.Vars == nil {
		t.Fatal("read: Vars is nil; want an empty map")
	}
	return snap
}

func write(ctx context.Context, t *testing.T, st envsync.Store, base *envsync.Snapshot, vars map[string]string) {
	t.Helper()
	if err := st.Write(ctx, &envsync.WriteRequest{Base: base, Vars: vars}); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func refused(t *testing.T, err error, key string) {
	t.Helper()
	if !errors.Is(err, envsync.ErrUnrepresentable) {
		t.Fatalf("write of an unrepresentable value: err = %v; want ErrUnrepresentable", err)
	}
	if !strings.Contains(err.Error(), key) {
		t.Fatalf("error %q does not name the key %s", err, key)
	}
}

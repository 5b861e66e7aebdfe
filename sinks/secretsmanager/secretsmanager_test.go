package secretsmanager

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/sinktest"
)

func TestMain(m *testing.M) { sinktest.Main(m) }

func open(t *testing.T, raw string, opts envsync.OpenOptions) envsync.Store {
	t.Helper()
	st, err := envsync.Open(t.Context(), raw, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestContractJSON(t *testing.T) {
	sinktest.AWS(t)
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T, opts envsync.OpenOptions) envsync.Store {
			return open(t, "secretsmanager://"+sinktest.Name("acme/app"), opts)
		},
		Multiline:   true,
		EmptyValues: true,
	})
}

func TestContractPerKey(t *testing.T) {
	sinktest.AWS(t)
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T, opts envsync.OpenOptions) envsync.Store {
			return open(t, "secretsmanager://"+sinktest.Name("acme/perkey")+"?layout=per-key", opts)
		},
		Multiline: true,
	})
}

// Importing 200 keys into the JSON layout costs what importing 2 does: one
// read and one create; re-applying writes nothing.
func TestCallCounts(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	for _, n := range []int{2, 200} {
		c := &envsync.CallCounter{}
		st := open(t, "secretsmanager://"+sinktest.Name("acme/calls"), envsync.OpenOptions{HTTPClient: c.Client()})
		vars := map[string]string{}
		for i := range n {
			vars[fmt.Sprintf("KEY_%03d", i)] = fmt.Sprintf("value-%d-%s", i, strings.Repeat("x", 20))
		}
		base, err := st.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Write(ctx, &envsync.WriteRequest{Base: base, Vars: vars}); err != nil {
			t.Fatal(err)
		}
		if c.Reads() != 1 || c.Writes() != 1 {
			t.Errorf("%d keys: %d reads, %d writes (%v); want 1 and 1", n, c.Reads(), c.Writes(), c.Calls())
		}
		c.Reset()
		base, _ = st.Read(ctx)
		if err := st.Write(ctx, &envsync.WriteRequest{Base: base, Vars: vars}); err != nil {
			t.Fatal(err)
		}
		if c.Writes() != 0 {
			t.Errorf("%d keys: a no-op made %d writes", n, c.Writes())
		}
	}
}

func TestPerKeyBatches(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	c := &envsync.CallCounter{}
	st := open(t, "secretsmanager://"+sinktest.Name("acme/batch")+"?layout=per-key", envsync.OpenOptions{HTTPClient: c.Client()})
	vars := map[string]string{}
	for i := range 45 {
		vars[fmt.Sprintf("K%02d", i)] = "v"
	}
	if err := st.Write(ctx, &envsync.WriteRequest{Base: envsync.EmptySnapshot(), Vars: vars}); err != nil {
		t.Fatal(err)
	}
	c.Reset()
	snap, err := st.Read(ctx)
	if err != nil || len(snap.Vars) != 45 {
		t.Fatalf("read %d vars, %v", len(snap.Vars), err)
	}
	if got := c.Calls()["BatchGetSecretValue"]; got != 3 {
		t.Fatalf("BatchGetSecretValue calls = %d; want 3 for 45 keys (20 a call)", got)
	}
}

func TestBadURL(t *testing.T) {
	for _, raw := range []string{"secretsmanager://", "secretsmanager://x?layout=yaml", "secretsmanager://x?foo=1", "secretsmanager://x?recovery=2"} {
		if _, err := envsync.Open(t.Context(), raw, envsync.OpenOptions{}); err == nil {
			t.Errorf("%s: want an error", raw)
		}
	}
}

// Going back to an earlier value must really write it: Secrets Manager
// ignores a request token it has seen before.
func TestRevert(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	for _, layout := range []string{"", "?layout=per-key"} {
		st := open(t, "secretsmanager://"+sinktest.Name("acme/revert")+layout, envsync.OpenOptions{})
		for _, v := range []string{"one", "two", "one"} {
			base, err := st.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Write(ctx, &envsync.WriteRequest{Base: base, Vars: map[string]string{"K": v}}); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.Read(ctx); got.Vars["K"] != v {
				t.Fatalf("%s: after writing %q the secret holds %q", layout, v, got.Vars["K"])
			}
		}
	}
}

// Secrets Manager's documented limits and UTF-8 are checked by Validate,
// which the plan runs for every app before the first write.
func TestValidateLimits(t *testing.T) {
	big := strings.Repeat("x", 65537)
	for _, tt := range []struct {
		url  string
		vars map[string]string
		want string
	}{
		{"secretsmanager://acme/prod", map[string]string{"A": strings.Repeat("x", 40000), "B": strings.Repeat("y", 30000)}, "(all keys): the secret would be 70015 bytes of JSON; a secret holds at most 65536"},
		{"secretsmanager://acme/prod?layout=per-key", map[string]string{"CERT": big}, "CERT: the value is 65537 bytes; a secret holds at most 65536"},
		{"secretsmanager://acme/prod?layout=per-key", map[string]string{strings.Repeat("K", 510): "v"}, "is longer than Secrets Manager's 512 characters"},
		{"secretsmanager://acme/prod", map[string]string{"RAW": "caf\xe9"}, "RAW: the value is not valid UTF-8"},
	} {
		st := open(t, tt.url, envsync.OpenOptions{})
		err := st.(envsync.Validator).Validate(tt.vars)
		if !errors.Is(err, envsync.ErrUnrepresentable) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "in Secrets Manager:") {
			t.Errorf("%s: err = %v; want %q", tt.url, err, tt.want)
		}
	}
	if err := open(t, "secretsmanager://acme/prod", envsync.OpenOptions{}).(envsync.Validator).Validate(map[string]string{"A": strings.Repeat("x", 60000)}); err != nil {
		t.Errorf("60 KB secret: %v", err)
	}
}

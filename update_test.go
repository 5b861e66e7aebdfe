package envsync_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/envsync/envsync"
	_ "github.com/envsync/envsync/sinks/file"
)

// Concurrent edits of different keys never lose each other's changes.
func TestApplyEditConcurrent(t *testing.T) {
	ctx := t.Context()
	opts := envsync.OpenOptions{BaseDir: t.TempDir()}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			st, err := envsync.Open(ctx, "file:feature.env", opts)
			if err != nil {
				errs <- err
				return
			}
			_, err = envsync.ApplyEdit(ctx, st, envsync.Edit{Set: map[string]string{fmt.Sprintf("FLAG_%d", i): "on"}, Attempts: 50})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, _ := envsync.Open(ctx, "file:feature.env", opts)
	snap, err := st.Read(ctx)
	if err != nil || len(snap.Vars) != 8 {
		t.Fatalf("%d flags after 8 concurrent edits (%v): %v", len(snap.Vars), err, snap.Vars)
	}
}

func TestApplyEditNoop(t *testing.T) {
	ctx := t.Context()
	st, _ := envsync.Open(ctx, "file:f.env", envsync.OpenOptions{BaseDir: t.TempDir()})
	if _, err := envsync.ApplyEdit(ctx, st, envsync.Edit{Set: map[string]string{"A": "1"}}); err != nil {
		t.Fatal(err)
	}
	res, err := envsync.ApplyEdit(ctx, st, envsync.Edit{Set: map[string]string{"A": "1"}})
	if err != nil || res.Changed {
		t.Fatalf("second edit: changed=%v err=%v; want no write", res.Changed, err)
	}
}

// A replacement from a stale Base conflicts, re-reads and still ends with
// exactly the replacement; the retry is counted.
func TestApplyEditReplaceFromStaleBase(t *testing.T) {
	ctx := t.Context()
	st, _ := envsync.Open(ctx, "file:f.env", envsync.OpenOptions{BaseDir: t.TempDir()})
	if _, err := envsync.ApplyEdit(ctx, st, envsync.Edit{Set: map[string]string{"A": "1"}}); err != nil {
		t.Fatal(err)
	}
	stale, err := st.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envsync.ApplyEdit(ctx, st, envsync.Edit{Set: map[string]string{"B": "2"}}); err != nil {
		t.Fatal(err)
	}
	res, err := envsync.ApplyEdit(ctx, st, envsync.Edit{Replace: map[string]string{"C": "3"}, Base: stale})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Retries != 1 {
		t.Errorf("changed=%v retries=%d; want a write after one conflict", res.Changed, res.Retries)
	}
	snap, err := st.Read(ctx)
	if err != nil || len(snap.Vars) != 1 || snap.Vars["C"] != "3" {
		t.Fatalf("after replace: %v %v", snap.Vars, err)
	}
}

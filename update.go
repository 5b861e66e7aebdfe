package envsync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"time"
)

// Edit is a change to a few keys of a store, leaving every other key alone.
type Edit struct {
	Set   map[string]string
	Unset []string
	Meta  map[string]string
	// Replace, when not nil, is the whole new content: the store ends up
	// holding exactly it (Set and Unset are then ignored). A rollback or a
	// reviewed file is written this way.
	Replace map[string]string
	// Base, when set, is a snapshot of the store just read: the first
	// attempt starts from it instead of reading again.
	Base *Snapshot
	// Sensitive is passed on to the store's write.
	Sensitive bool
	// Attempts bounds the read-modify-write retries on a conflict (default 8).
	Attempts int
}

// EditResult says what an Edit did.
type EditResult struct {
	// Before is what the successful attempt read (after any retries), so
	// Before → After is exactly this edit.
	Before, After *Snapshot
	// Changed is false when the store already held the edit before this
	// command wrote anything. It is true after a write, and after a conflict
	// that left the store holding the edit (a retried write meeting its own
	// earlier, unacknowledged write).
	Changed bool
	// Retries counts conflicts that were resolved by re-reading.
	Retries int
}

// ApplyEdit reads st, applies only the edit's own keys, and writes
// conditionally on what it read. When another writer got there first
// (ErrConflict) it re-reads and re-applies its own keys, so concurrent
// writers of different keys never lose each other's changes. It writes
// nothing when the store already holds the edit.
func ApplyEdit(ctx context.Context, st Store, e Edit) (*EditResult, error) {
	attempts := e.Attempts
	if attempts <= 0 {
		attempts = 8
	}
	res := &EditResult{}
	for try := 0; ; try++ {
		base := e.Base
		if try > 0 || base == nil {
			var err error
			if base, err = st.Read(ctx); err != nil {
				return nil, err
			}
		}
		vars := maps.Clone(base.Vars)
		maps.Copy(vars, e.Set)
		for _, k := range e.Unset {
			delete(vars, k)
		}
		if e.Replace != nil {
			vars = maps.Clone(e.Replace)
		}
		res.Before = base // the content this attempt edits: After differs from it only by the edit
		if maps.Equal(vars, base.Vars) && (base.Exists || len(vars) == 0) {
			res.After = base
			// After a conflict, a store that holds the edit holds it because
			// of a write: ours, whose reply was lost and whose retry met
			// our own change, or an identical one. Either way the edit took
			// effect with this command, and what follows a change (a
			// restart) must follow it.
			res.Changed = res.Retries > 0
			return res, nil
		}
		err := st.Write(ctx, &WriteRequest{Base: base, Vars: vars, Sensitive: e.Sensitive, Meta: e.Meta})
		if err == nil {
			res.After = &Snapshot{Vars: vars, Exists: true, Meta: e.Meta}
			res.Changed = true
			return res, nil
		}
		if !errors.Is(err, ErrConflict) || try+1 >= attempts {
			if errors.Is(err, ErrConflict) {
				return nil, WithHint(fmt.Errorf("gave up after %d conflicting writes: %w", attempts, err), "others are writing the same object; try again")
			}
			return nil, err
		}
		res.Retries++
		// Back off a little, with jitter, so racing writers spread out.
		d := time.Duration(10*(1<<min(try, 5))) * time.Millisecond
		d += time.Duration(rand.Int64N(int64(d)))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
	}
}

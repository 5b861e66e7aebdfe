package heroku

import (
	"net/http"
	"testing"
	"time"

	"github.com/envsync/envsync"
)

// TestLastChanged: when each key last changed, from the app's releases in
// one call; a key no config release names is missing (envsync then holds a
// flag change rather than guess).
func TestLastChanged(t *testing.T) {
	srv := server(t)
	srv.SetConfig("acme", map[string]string{"A": "1", "B": "1", "AB": "1"})
	st := open(t, "acme")
	ctx := t.Context()
	start := time.Now().Add(-time.Second)
	base, err := st.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, &envsync.WriteRequest{Base: base, Vars: map[string]string{"A": "2", "AB": "1"}}); err != nil {
		t.Fatal(err)
	}
	before := srv.Count(http.MethodGet)
	got, err := st.(envsync.ChangeLog).LastChanged(ctx, []string{"A", "B", "AB", "NEVER"})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Count(http.MethodGet) - before; n != 1 {
		t.Errorf("%d GETs; want one release list", n)
	}
	for _, k := range []string{"A", "B", "AB"} {
		if got[k].Before(start) {
			t.Errorf("%s: last changed %v; want a release time", k, got[k])
		}
	}
	// A and B changed in the second release ("Set A and remove B config vars"); AB only in the first.
	if !got["A"].Equal(got["B"]) || got["AB"].After(got["A"]) {
		t.Errorf("times %v; want A and B from the newest release, AB from an older one", got)
	}
	if _, ok := got["NEVER"]; ok {
		t.Error("NEVER is named by no release")
	}
}

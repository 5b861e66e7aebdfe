package s3

import (
	"fmt"
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/sinktest"
)

// write puts vars as a new version with meta (nil: a hand edit, no metadata).
func write(t *testing.T, st envsync.Store, vars map[string]string, meta map[string]string) {
	t.Helper()
	base, err := st.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(t.Context(), &envsync.WriteRequest{Base: base, Vars: vars, Meta: meta}); err != nil {
		t.Fatal(err)
	}
}

// TestProvenances: who last changed each key, told apart by writer, from a
// real versioned bucket: an import, a flag change, a hand edit, a removal.
func TestProvenances(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	calls := &envsync.CallCounter{}
	st, err := envsync.Open(ctx, "s3://"+sinktest.Bucket(t, true)+"/prod/feature.env", envsync.OpenOptions{HTTPClient: calls.Client()})
	if err != nil {
		t.Fatal(err)
	}
	write(t, st, map[string]string{"A": "1", "B": "1", "C": "1", "D": "1"}, envsync.ImportMeta("ci"))
	write(t, st, map[string]string{"A": "2", "B": "1", "C": "1", "D": "1"}, envsync.FlagsMeta("flags set", "ana", "turn A", []string{"A"}))
	write(t, st, map[string]string{"A": "2", "B": "3", "C": "1", "D": "1"}, nil)
	write(t, st, map[string]string{"A": "2", "B": "3", "D": "1"}, envsync.FlagsMeta("flags unset", "bo", "drop C", []string{"C"}))
	cur, err := st.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}

	calls.Reset()
	got, err := envsync.Provenances(ctx, st, cur, []string{"A", "B", "C", "D", "NEVER"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		writer   envsync.Writer
		cmd, by  string
		before   string
		had      bool
		reverts  string // a value that would undo the change
		revertOK bool   // whether writing that value reverts it
	}{
		"A": {envsync.WriterFlags, "flags set", "ana", "1", true, "1", true},
		"B": {envsync.WriterHand, "", "", "1", true, "1", false},
		"C": {envsync.WriterFlags, "flags unset", "bo", "1", true, "1", true},
		"D": {envsync.WriterImport, "import", "ci", "", false, "x", false},
	}
	for k, w := range want {
		p := got[k]
		if p == nil || p.Writer != w.writer || p.Command != w.cmd || p.By != w.by || p.Before != w.before || p.Had != w.had || !p.BeforeKnown || p.When.IsZero() {
			t.Errorf("%s: got %+v; want %+v", k, p, w)
			continue
		}
		if r := p.Reverts(w.reverts, true); r != w.revertOK {
			t.Errorf("%s: Reverts(%q) = %v; want %v", k, w.reverts, r, w.revertOK)
		}
	}
	if got["A"].Reverts("9", true) {
		t.Error("A: a new value is not a revert")
	}
	if !got["C"].Reverts("1", true) || got["C"].Reverts("", false) {
		t.Error("C: bringing the removed value back reverts; leaving it removed does not")
	}
	if p := got["NEVER"]; p != nil {
		t.Errorf("NEVER was never in the file: %+v", p)
	}
	// one listing, and the three older versions, once each.
	if n := calls.Calls()["ListObjectVersions"]; n != 1 {
		t.Errorf("%d ListObjectVersions; want 1", n)
	}
	if n := calls.Calls()["GetObject"]; n != 3 {
		t.Errorf("%d GetObject; want 3 (%v)", n, calls.Calls())
	}

	// A key last changed by another writer stops the walk there: B, changed
	// by hand one version back, reads two older versions.
	calls.Reset()
	if _, err := envsync.Provenances(ctx, st, cur, []string{"B"}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Calls()["GetObject"]; n != 2 {
		t.Errorf("B: %d GetObject; want 2", n)
	}
	// Nothing to attribute: no call at all.
	calls.Reset()
	if _, err := envsync.Provenances(ctx, st, cur, nil); err != nil || calls.Total() != 0 {
		t.Errorf("no keys: %d calls, err %v; want none", calls.Total(), err)
	}
}

// TestProvenanceRun: a key changed by envsync flags several times in a row
// reverts to any value it had before those changes, back to the last change
// by another writer; a value of its own, or one from before that writer's
// change, is not a revert.
func TestProvenanceRun(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	calls := &envsync.CallCounter{}
	st, err := envsync.Open(ctx, "s3://"+sinktest.Bucket(t, true)+"/run.env", envsync.OpenOptions{HTTPClient: calls.Client()})
	if err != nil {
		t.Fatal(err)
	}
	write(t, st, map[string]string{"L": "info", "M": "1"}, envsync.ImportMeta("ci"))
	write(t, st, map[string]string{"L": "warn", "M": "1"}, envsync.FlagsMeta("flags set", "ana", "quieter", []string{"L"}))
	write(t, st, map[string]string{"L": "warn", "M": "2"}, envsync.ImportMeta("ci")) // L untouched
	write(t, st, map[string]string{"L": "error", "M": "2"}, envsync.FlagsMeta("flags set", "bo", "cut", []string{"L"}))
	cur, _ := st.Read(ctx)
	got, err := envsync.Provenances(ctx, st, cur, []string{"L"})
	if err != nil {
		t.Fatal(err)
	}
	p := got["L"]
	if p == nil || p.Reason != "cut" || p.Before != "warn" || len(p.Earlier) != 1 || p.Earlier[0].Reason != "quieter" || p.Earlier[0].Before != "info" {
		t.Fatalf("L: %+v", p)
	}
	for v, want := range map[string]bool{"info": true, "warn": true, "debug": false, "error": false} {
		if p.Reverts(v, true) != want {
			t.Errorf("L: Reverts(%q) = %v; want %v", v, !want, want)
		}
	}
	if p.Reverts("", false) {
		t.Error("L: removing it is not a revert (it was always set)")
	}
	if u := p.Undone("info", true); u != p.Earlier[0] {
		t.Errorf("Undone(info) = %+v; want the earlier change", u)
	}
	if n := p.RevertNote("info", true); !strings.Contains(n, "1 earlier flag change(s)") || !strings.Contains(n, `"quieter"`) || strings.Contains(n, "info") {
		t.Errorf("RevertNote(info) = %q", n)
	}
	if n := p.RevertNote("warn", true); n != "" {
		t.Errorf("RevertNote(warn) = %q; want none (it is what the last change replaced)", n)
	}

	// A hand edit ends the run: its value is the oldest revert, and the walk
	// stops there (two older versions read).
	write(t, st, map[string]string{"L": "debug", "M": "2"}, nil)
	write(t, st, map[string]string{"L": "trace", "M": "2"}, envsync.FlagsMeta("flags set", "ana", "more", []string{"L"}))
	write(t, st, map[string]string{"L": "trace", "M": "2", "N": "on"}, envsync.FlagsMeta("flags set", "ana", "add N", []string{"N"}))
	write(t, st, map[string]string{"L": "trace", "M": "2", "N": "off"}, envsync.FlagsMeta("flags set", "ana", "N off", []string{"N"}))
	cur, _ = st.Read(ctx)
	calls.Reset()
	got, err = envsync.Provenances(ctx, st, cur, []string{"L"})
	if err != nil {
		t.Fatal(err)
	}
	p = got["L"]
	if p == nil || p.Reason != "more" || len(p.Earlier) != 0 || !p.Reverts("debug", true) || p.Reverts("error", true) || p.Reverts("info", true) {
		t.Errorf("L after a hand edit: %+v", p)
	}
	if n := calls.Calls()["GetObject"]; n != 4 {
		t.Errorf("%d GetObject; want 4 (to the hand edit)", n)
	}
	// A key added by a flag change: removing it undoes the run too.
	got, err = envsync.Provenances(ctx, st, cur, []string{"N"})
	if err != nil {
		t.Fatal(err)
	}
	if p := got["N"]; p == nil || !p.Reverts("on", true) || !p.Reverts("", false) || p.Reverts("maybe", true) {
		t.Errorf("N: %+v", p)
	}
}

// TestProvenanceDepth: the walk reads at most ProvenanceDepth older versions.
func TestProvenanceDepth(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	calls := &envsync.CallCounter{}
	st, _ := envsync.Open(ctx, "s3://"+sinktest.Bucket(t, true)+"/deep.env", envsync.OpenOptions{HTTPClient: calls.Client()})
	write(t, st, map[string]string{"OLD": "1", "N": "0"}, envsync.FlagsMeta("flags set", "ana", "old", []string{"OLD"}))
	for i := 1; i <= envsync.ProvenanceDepth+2; i++ {
		write(t, st, map[string]string{"OLD": "1", "N": fmt.Sprint(i)}, envsync.FlagsMeta("flags set", "bo", "bump", []string{"N"}))
	}
	cur, _ := st.Read(ctx)
	calls.Reset()
	got, err := envsync.Provenances(ctx, st, cur, []string{"OLD"})
	if err != nil {
		t.Fatal(err)
	}
	if p := got["OLD"]; p != nil {
		t.Errorf("OLD changed %d versions back was found: %+v", envsync.ProvenanceDepth+2, p)
	}
	if n := calls.Calls()["GetObject"]; n != envsync.ProvenanceDepth {
		t.Errorf("%d GetObject; want %d", n, envsync.ProvenanceDepth)
	}
}

// TestProvenanceUnversioned: without versions, the current metadata names
// the keys a flag change touched; what it replaced is unknown, so any
// other value is treated as a revert (held, never silently overwritten).
func TestProvenanceUnversioned(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	st, _ := envsync.Open(ctx, "s3://"+sinktest.Bucket(t, false)+"/flags.env", envsync.OpenOptions{})
	write(t, st, map[string]string{"A": "1", "B": "1"}, envsync.ImportMeta("ci"))
	write(t, st, map[string]string{"A": "2", "B": "1"}, envsync.FlagsMeta("flags set", "ana", "turn A", []string{"A"}))
	cur, _ := st.Read(ctx)
	got, err := envsync.Provenances(ctx, st, cur, []string{"A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	if p := got["A"]; p == nil || p.Writer != envsync.WriterFlags || p.BeforeKnown || !p.Reverts("1", true) {
		t.Errorf("A: %+v", p)
	}
	if p := got["B"]; p != nil {
		t.Errorf("B was not named by the flag change: %+v", p)
	}
}

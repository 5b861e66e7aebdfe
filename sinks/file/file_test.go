package file

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/internal/localfile"
	"github.com/envsync/envsync/sinks/sinktest"
)

func TestContract(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T, opts envsync.OpenOptions) envsync.Store {
			st, err := envsync.Open(t.Context(), "file:app/feature.env", opts)
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		LocalWrites: func() int { return int(localfile.Writes.Load()) },
		Conditional: true,
	})
}

func TestSensitiveIsPrivate(t *testing.T) {
	dir := t.TempDir()
	st, err := envsync.Open(t.Context(), "file:secrets.env", envsync.OpenOptions{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Write(t.Context(), &envsync.WriteRequest{Base: envsync.EmptySnapshot(), Vars: map[string]string{"K": "v"}, Sensitive: true})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "secrets.env"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v; want 0600", fi.Mode().Perm())
	}
}

func TestRefusedWriteLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	st, _ := envsync.Open(t.Context(), "file:f.env", envsync.OpenOptions{BaseDir: dir})
	err := st.Write(t.Context(), &envsync.WriteRequest{Base: envsync.EmptySnapshot(), Vars: map[string]string{"A": "1", "B": "two\nlines"}})
	if err == nil {
		t.Fatal("want an error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("a refused write left %d file(s)", len(entries))
	}
}

// A symlinked env file is written through the link (the link stays), also
// when the link dangles (the file it names is created).
func TestWritesThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real", "feature.env")
	os.MkdirAll(filepath.Dir(real), 0o755)
	if err := os.Symlink(filepath.Join("real", "feature.env"), filepath.Join(dir, "link.env")); err != nil {
		t.Fatal(err)
	}
	st, _ := envsync.Open(t.Context(), "file:link.env", envsync.OpenOptions{BaseDir: dir})
	for _, v := range []string{"on", "off"} { // dangling, then existing
		base, err := st.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Write(t.Context(), &envsync.WriteRequest{Base: base, Vars: map[string]string{"FEATURE_X": v}}); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(filepath.Join(dir, "link.env")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("the link was replaced: %v", err)
		}
		if got, _ := os.ReadFile(real); string(got) != "FEATURE_X="+v+"\n" {
			t.Fatalf("target holds %q", got)
		}
	}
}

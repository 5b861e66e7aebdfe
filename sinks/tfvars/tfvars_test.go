package tfvars

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/internal/localfile"
	"github.com/envsync/envsync/sinks/sinktest"
)

func TestMain(m *testing.M) { sinktest.Main(m) }

func TestContract(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T, opts envsync.OpenOptions) envsync.Store {
			st, err := envsync.Open(t.Context(), "tfvars:infra/app.auto.tfvars#app_env", opts)
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		LocalWrites: func() int { return int(localfile.Writes.Load()) },
		Multiline:   true,
		EmptyValues: true,
		Conditional: true,
	})
}

const handWritten = `# Hand-written: keep me.
desired_count = 2 # two tasks

cpu    = 512
memory = 1024
`

func TestKeepsOtherBytes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.tfvars")
	if err := os.WriteFile(path, []byte(handWritten), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	opts := envsync.OpenOptions{BaseDir: dir}
	static, _ := envsync.Open(ctx, "tfvars:app.tfvars#app_static_env", opts)
	dynamic, _ := envsync.Open(ctx, "tfvars:app.tfvars#app_dynamic_env", opts)
	write := func(st envsync.Store, vars map[string]string) {
		t.Helper()
		base, err := st.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Write(ctx, &envsync.WriteRequest{Base: base, Vars: vars}); err != nil {
			t.Fatal(err)
		}
	}
	write(static, map[string]string{"RAILS_ENV": "production", "weird key": `a "b" ${c} %{d}`})
	write(dynamic, map[string]string{"WEB_CONCURRENCY": "3"})
	write(static, map[string]string{"RAILS_ENV": "staging"})
	got, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(got), handWritten) {
		t.Fatalf("the hand-written part changed:\n%s", got)
	}
	for _, want := range []string{"app_static_env = {\n  RAILS_ENV = \"staging\"\n}", "WEB_CONCURRENCY = \"3\""} {
		if !strings.Contains(string(got), want) {
			t.Errorf("file lacks %q:\n%s", want, got)
		}
	}
	snap, err := dynamic.Read(ctx)
	if err != nil || snap.Vars["WEB_CONCURRENCY"] != "3" || len(snap.Vars) != 1 {
		t.Fatalf("dynamic = %v, %v", snap, err)
	}
}

func TestInvalid(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"syntax.tfvars":  "a = {\n  b = \n",
		"notmap.tfvars":  "x = 1\napp_env = \"str\"\n",
		"nested.tfvars":  "app_env = {\n  A = { b = 1 }\n}\n",
		"funcref.tfvars": "app_env = var.foo\n",
	} {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
			st, _ := envsync.Open(t.Context(), "tfvars:"+name+"#app_env", envsync.OpenOptions{BaseDir: dir})
			_, err := st.Read(t.Context())
			var pe *envsync.PosError
			if !errors.As(err, &pe) || pe.Line == 0 || !strings.Contains(err.Error(), name) {
				t.Fatalf("err = %v; want a file:line error", err)
			}
		})
	}
	if _, err := envsync.Open(t.Context(), "tfvars:x.tfvars", envsync.OpenOptions{}); !errors.Is(err, envsync.ErrInvalid) {
		t.Fatalf("missing #VARIABLE: err = %v", err)
	}
}

func writeVars(t *testing.T, st envsync.Store, vars map[string]string) error {
	t.Helper()
	base, err := st.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st.Write(t.Context(), &envsync.WriteRequest{Base: base, Vars: vars})
}

// A CRLF file with a byte order mark stays a CRLF file with its BOM.
func TestKeepsCRLFAndBOM(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.tfvars")
	orig := "\xef\xbb\xbf# windows\r\ncpu = 512\r\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := envsync.Open(t.Context(), "tfvars:app.tfvars#app_env", envsync.OpenOptions{BaseDir: dir})
	if err := writeVars(t, st, map[string]string{"RAILS_ENV": "production", "MOTD": "a\r\nb"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(got), orig) {
		t.Fatalf("the BOM or the first lines changed: %q", got)
	}
	if n, m := strings.Count(string(got), "\n"), strings.Count(string(got), "\r\n"); n != m {
		t.Fatalf("mixed line ends (%d LF, %d CRLF): %q", n, m, got)
	}
	snap, err := st.Read(t.Context())
	if err != nil || snap.Vars["RAILS_ENV"] != "production" || snap.Vars["MOTD"] != "a\r\nb" {
		t.Fatalf("read back %q, %v", snap.Vars, err)
	}
}

// Terraform normalises strings to NFC: a value in another form, or not
// UTF-8 at all, cannot be stored byte for byte, so it is refused (naming the
// key) before anything is written, instead of converging never.
func TestRefusesWhatTerraformWouldChange(t *testing.T) {
	dir := t.TempDir()
	st, _ := envsync.Open(t.Context(), "tfvars:app.tfvars#app_env", envsync.OpenOptions{BaseDir: dir})
	err := writeVars(t, st, map[string]string{"CITY": "Mont-re\u0301al", "BYTES": "caf\xe9", "OK": "Montréal"})
	if !errors.Is(err, envsync.ErrUnrepresentable) || !strings.Contains(err.Error(), "CITY: the value is not in Unicode NFC") || !strings.Contains(err.Error(), "BYTES: the value is not valid UTF-8") || strings.Contains(err.Error(), "OK") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "app.tfvars")); !os.IsNotExist(err) {
		t.Fatal("a refused write created the file")
	}
	// NFC values round-trip exactly.
	if err := writeVars(t, st, map[string]string{"CITY": "Montréal"}); err != nil {
		t.Fatal(err)
	}
	if snap, _ := st.Read(t.Context()); snap.Vars["CITY"] != "Montréal" {
		t.Fatalf("read back %q", snap.Vars["CITY"])
	}
}

// A symlinked tfvars file is written through the link: the link stays, the
// file it points to gets the change.
func TestWritesThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "shared", "real.tfvars")
	os.MkdirAll(filepath.Dir(real), 0o755)
	os.WriteFile(real, []byte("cpu = 512\n"), 0o644)
	if err := os.Symlink(real, filepath.Join(dir, "app.tfvars")); err != nil {
		t.Fatal(err)
	}
	st, _ := envsync.Open(t.Context(), "tfvars:app.tfvars#app_env", envsync.OpenOptions{BaseDir: dir})
	if err := writeVars(t, st, map[string]string{"A": "1"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "app.tfvars")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi.Mode(), err)
	}
	if got, _ := os.ReadFile(real); !strings.Contains(string(got), "app_env") || !strings.HasPrefix(string(got), "cpu = 512\n") {
		t.Fatalf("the target was not written: %q", got)
	}
}

// FuzzRead: any file content reads as a map, or fails with a file:line
// error; never a panic. No size cut: the fuzzer's time bound is the bound.
func FuzzRead(f *testing.F) {
	f.Add([]byte("app_env = {\n  A = \"1\"\n}\n"))
	f.Add([]byte("\xef\xbb\xbfapp_env = {}\r\n"))
	f.Add([]byte("app_env = var.x\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.tfvars")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, _ := envsync.Open(t.Context(), "tfvars:"+path+"#app_env", envsync.OpenOptions{})
		if _, err := st.Read(t.Context()); err != nil && !errors.Is(err, envsync.ErrInvalid) {
			t.Fatalf("error not wrapping ErrInvalid: %v", err)
		}
	})
}

// A static and a dynamic route sharing one file parse it once per run.
func TestSharedFileParsedOncePerRun(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.auto.tfvars"), []byte("static = { RAILS_ENV = \"production\" }\ndynamic = { WEB_CONCURRENCY = \"3\" }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		files  *envsync.FileCache
		parses int64
	}{{nil, 2}, {envsync.NewFileCache(), 1}} {
		opts := envsync.OpenOptions{BaseDir: dir, Files: tc.files}
		before := parses.Load()
		got := map[string]string{}
		for _, v := range []string{"static", "dynamic"} {
			st, err := envsync.Open(t.Context(), "tfvars:app.auto.tfvars#"+v, opts)
			if err != nil {
				t.Fatal(err)
			}
			snap, err := st.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for k, val := range snap.Vars {
				got[k] = val
			}
		}
		if n := parses.Load() - before; n != tc.parses {
			t.Errorf("cache %v: parsed %d times; want %d", tc.files != nil, n, tc.parses)
		}
		if got["RAILS_ENV"] != "production" || got["WEB_CONCURRENCY"] != "3" || len(got) != 2 {
			t.Errorf("cache %v: read %v", tc.files != nil, got)
		}
	}
}

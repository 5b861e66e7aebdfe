package envsync_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envsync/envsync"
)

const phaseConfig = `version: 1
apps:
  # the storefront
  web:
    source: heroku://acme   # until the cutover
    routes:
      feature: s3://acme-env/web.env
  worker:
    source: heroku://acme-worker
    phase: "cutover"
    routes:
      feature: s3://acme-env/worker.env
`

func TestPhaseField(t *testing.T) {
	cfg, err := envsync.ParseConfig("envsync.yaml", []byte(phaseConfig))
	if err != nil {
		t.Fatal(err)
	}
	if web := cfg.Apps[0]; web.Phase != envsync.PhaseMigrating || web.CutOver() || web.PhaseLine != 0 {
		t.Errorf("web: phase %q line %d; want the default, migrating", web.Phase, web.PhaseLine)
	}
	if w := cfg.Apps[1]; w.Phase != envsync.PhaseCutover || !w.CutOver() || w.PhaseLine != 10 {
		t.Errorf("worker: phase %q line %d; want cutover on line 10", w.Phase, w.PhaseLine)
	}
	bad := strings.Replace(phaseConfig, `phase: "cutover"`, "phase: cut-over", 1)
	_, err = envsync.ParseConfig("envsync.yaml", []byte(bad))
	if err == nil || err.Error() != `envsync.yaml:10: invalid: worker.phase: want migrating or cutover, got "cut-over"` || !errors.Is(err, envsync.ErrInvalid) {
		t.Errorf("unknown phase: err = %v", err)
	}
}

func TestSetPhase(t *testing.T) {
	for _, tc := range []struct {
		name, in, app string
		phase         envsync.Phase
		want          string // the whole new file; "" when nothing changes
		line          int
	}{
		{"insert after source, comments kept", phaseConfig, "web", envsync.PhaseCutover,
			strings.Replace(phaseConfig, "# until the cutover\n", "# until the cutover\n    phase: cutover\n", 1), 6},
		{"replace a quoted value", phaseConfig, "worker", envsync.PhaseMigrating,
			strings.Replace(phaseConfig, `phase: "cutover"`, "phase: migrating", 1), 10},
		{"already so", phaseConfig, "worker", envsync.PhaseCutover, "", 10},
		{"the default needs no line", phaseConfig, "web", envsync.PhaseMigrating, "", 0},
		{"CRLF line ends", strings.ReplaceAll(phaseConfig, "\n", "\r\n"), "web", envsync.PhaseCutover,
			strings.ReplaceAll(strings.Replace(phaseConfig, "# until the cutover\n", "# until the cutover\n    phase: cutover\n", 1), "\n", "\r\n"), 6},
		{"flow style", "version: 1\napps:\n  web: {source: heroku://a, routes: {feature: s3://b/a.env}}  # one line\n", "web", envsync.PhaseCutover,
			"version: 1\napps:\n  web: {phase: cutover, source: heroku://a, routes: {feature: s3://b/a.env}}  # one line\n", 3},
		{"an app of defaults only, as envsync init writes it",
			"version: 1\ndefaults:\n  source: heroku://{app}\n  routes:\n    feature: s3://b/{app}.env\napps:\n  # web: 3 vars\n  web: {}\n", "web", envsync.PhaseCutover,
			"version: 1\ndefaults:\n  source: heroku://{app}\n  routes:\n    feature: s3://b/{app}.env\napps:\n  # web: 3 vars\n  web: {phase: cutover}\n", 8},
		{"source not first, tab-free indentation of 4",
			"version: 1\napps:\n    api:\n        routes:\n            feature: s3://b/a.env\n        source: api.json\n        flags_file: f.env\n", "api", envsync.PhaseCutover,
			"version: 1\napps:\n    api:\n        routes:\n            feature: s3://b/a.env\n        source: api.json\n        phase: cutover\n        flags_file: f.env\n", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := envsync.SetPhase("envsync.yaml", []byte(tc.in), tc.app, tc.phase)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if e.Changed || string(e.Data) != tc.in || e.Line != tc.line {
					t.Fatalf("changed %v line %d; want nothing changed (line %d)", e.Changed, e.Line, tc.line)
				}
				return
			}
			if !e.Changed || string(e.Data) != tc.want || e.Line != tc.line {
				t.Fatalf("line %d, got:\n%s\nwant (line %d):\n%s", e.Line, e.Data, tc.line, tc.want)
			}
			cfg, err := envsync.ParseConfig("envsync.yaml", e.Data)
			if err != nil {
				t.Fatal(err)
			}
			apps, _ := cfg.Select([]string{tc.app})
			if apps[0].Phase != tc.phase {
				t.Fatalf("phase %q after the edit", apps[0].Phase)
			}
		})
	}
}

func TestSetPhaseRefuses(t *testing.T) {
	// A phase merged from a shared anchor: an own phase: line is added, the
	// anchor (and so every other app) is left alone.
	merged := "version: 1\nx-base: &base\n  phase: cutover\n  source: heroku://a\napps:\n  web:\n    <<: *base\n    routes: {feature: s3://b/a.env}\n  api:\n    <<: *base\n    routes: {feature: s3://b/b.env}\n"
	if e, err := envsync.SetPhase("envsync.yaml", []byte(merged), "web", envsync.PhaseMigrating); err != nil || !strings.Contains(string(e.Data), "    phase: migrating\n    <<: *base\n") || !strings.Contains(string(e.Data), "x-base: &base\n  phase: cutover\n") {
		t.Errorf("merged phase: err = %v\n%s", err, e.Data)
	}
	aliased := "version: 1\nx-base: &base\n  source: heroku://a\n  routes: {feature: s3://b/a.env}\napps:\n  web: *base\n"
	if _, err := envsync.SetPhase("envsync.yaml", []byte(aliased), "web", envsync.PhaseCutover); err == nil || !strings.Contains(err.Error(), "set phase: cutover by hand") {
		t.Errorf("an app that is an alias: err = %v", err)
	}
	if _, err := envsync.SetPhase("envsync.yaml", []byte(phaseConfig), "nope", envsync.PhaseCutover); !errors.Is(err, envsync.ErrNotFound) {
		t.Errorf("unknown app: err = %v", err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "envsync.yaml")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := envsync.WriteFileAtomic(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if got := readFile(t, path); got != "new" || fi.Mode().Perm() != 0o600 {
		t.Errorf("content %q mode %o; want new, 0600 kept", got, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files in the folder; want no temporary file left", len(entries))
	}
	if err := envsync.WriteFileAtomic(filepath.Join(path, "x"), []byte("y")); err == nil {
		t.Error("writing under a file: want an error")
	}
}

// FuzzSetPhase: whatever the config, SetPhase never panics, and an edit it
// returns parses to the phase it was asked for.
func FuzzSetPhase(f *testing.F) {
	f.Add(phaseConfig, "web", true)
	f.Add(phaseConfig, "worker", false)
	f.Add(strings.ReplaceAll(phaseConfig, "\n", "\r\n"), "web", true)
	f.Add("version: 1\napps:\n  web: {source: heroku://a, routes: {feature: s3://b/a.env}}\n", "web", true)
	f.Add("version: 1\ndefaults:\n  source: heroku://{app}\n  routes:\n    feature: s3://b/{app}.env\napps:\n  web: {}\n", "web", true)
	f.Fuzz(func(t *testing.T, data, app string, cutover bool) {
		phase := envsync.PhaseMigrating
		if cutover {
			phase = envsync.PhaseCutover
		}
		e, err := envsync.SetPhase("envsync.yaml", []byte(data), app, phase)
		if err != nil {
			return
		}
		cfg, err := envsync.ParseConfig("envsync.yaml", e.Data)
		if err != nil {
			t.Fatalf("the edit does not parse: %v\n%s", err, e.Data)
		}
		apps, err := cfg.Select([]string{app})
		if err != nil || apps[0].Phase != phase {
			t.Fatalf("phase after the edit: %v %v", apps, err)
		}
	})
}

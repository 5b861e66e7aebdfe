package envsync_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/classify"
)

func TestCheckScopeKind(t *testing.T) {
	root := t.TempDir()
	cfg, err := envsync.ParseConfig(filepath.Join(root, "envsync.yaml"), []byte("version: 1\napps:\n  web:\n    source: a.json\n    routes: {feature: file:x.env}\n    flags_file: config/flags.txt\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		scope envsync.CheckScope
		rel   string
		want  envsync.EnvFileKind
	}{
		{envsync.CheckScope{}, "config/flags.txt", envsync.ECSEnvFile}, // flags_file, whatever its name
		{envsync.CheckScope{Exclude: []string{"config/**"}}, "config/flags.txt", envsync.ECSEnvFile},
		{envsync.CheckScope{}, "deploy/production/web.env", envsync.ECSEnvFile},
		{envsync.CheckScope{}, "web.env", envsync.ECSEnvFile},
		{envsync.CheckScope{}, ".env", envsync.DotenvFile},
		{envsync.CheckScope{}, ".env.development", envsync.DotenvFile},
		{envsync.CheckScope{}, "apps/api/.env.example", envsync.DotenvFile},
		{envsync.CheckScope{}, ".envrc", envsync.NotEnvFile},
		{envsync.CheckScope{}, "README.md", envsync.NotEnvFile},
		{envsync.CheckScope{SkipDotenv: true}, ".env.local", envsync.NotEnvFile},
		{envsync.CheckScope{Exclude: []string{"**/fixtures/**"}}, "spec/fixtures/a.env", envsync.NotEnvFile},
		{envsync.CheckScope{Include: []string{"deploy/**/*.env"}}, "other/a.env", envsync.NotEnvFile}, // include replaces the default
		{envsync.CheckScope{Include: []string{"deploy/**/*.env"}}, "deploy/x/a.env", envsync.ECSEnvFile},
		{envsync.CheckScope{Include: []string{"**/.env.production"}}, ".env.production", envsync.ECSEnvFile},
	}
	for _, tt := range tests {
		if got := tt.scope.Kind(cfg, tt.rel, filepath.Join(root, tt.rel)); got != tt.want {
			t.Errorf("%+v.Kind(%s) = %q; want %q", tt.scope, tt.rel, got, tt.want)
		}
	}
	// A file named on the command line is checked unless a rule says not to.
	for rel, want := range map[string]envsync.EnvFileKind{"notes/flags.txt": envsync.ECSEnvFile, ".env.local": envsync.DotenvFile, "spec/fixtures/a.env": envsync.NotEnvFile} {
		if got := (envsync.CheckScope{Exclude: []string{"**/fixtures/**"}}).Named(cfg, rel, filepath.Join(root, rel)); got != want {
			t.Errorf("Named(%s) = %q; want %q", rel, got, want)
		}
	}
	if err := (envsync.CheckScope{Include: []string{"[unclosed"}}).Validate(); err == nil || !strings.Contains(err.Error(), "[unclosed") {
		t.Errorf("Validate of a bad glob = %v", err)
	}
}

// A developer dotenv file is read with the dotenv conventions: quotes and
// export are fine; a line that does not parse is DOT001 with its line; a
// credential-shaped value is a warning, never with its value.
func TestCheckDotenvChange(t *testing.T) {
	cl := classify.New(nil)
	const token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	fs := envsync.CheckDotenvChange(".env.development", nil, []byte("RAILS_ENV=\"development\"\nexport PORT=3000\nGITHUB_TOKEN="+token+"\n"), cl)
	if len(fs) != 1 || fs[0].Code != envsync.DotenvCredential || fs[0].Severity != envsync.SevWarning || fs[0].Line != 3 || strings.Contains(fs[0].Message, token) {
		t.Errorf("findings = %+v", fs)
	}
	fs = envsync.CheckDotenvChange(".env.example", nil, []byte("A=1\nB=\"open\n"), cl)
	if len(fs) != 1 || fs[0].Code != envsync.DotenvSyntax || fs[0].Severity != envsync.SevError || fs[0].Line != 2 {
		t.Errorf("findings = %+v", fs)
	}
	if fs := envsync.CheckDotenvChange(".env.test", []byte("GITHUB_TOKEN="+token+"\n"), []byte("GITHUB_TOKEN="+token+"\nA=1\n"), cl); len(fs) != 0 {
		t.Errorf("an unchanged value is reported again: %+v", fs)
	}
}

func FuzzCheckDotenvChange(f *testing.F) {
	cl := classify.New(nil)
	f.Add([]byte("A=1\n"), []byte("A=\"2\"\nexport B=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"))
	f.Add([]byte(""), []byte("BROKEN LINE \"x\n"))
	f.Fuzz(func(t *testing.T, old, data []byte) {
		for _, fd := range envsync.CheckDotenvChange(".env", old, data, cl) {
			if fd.Line < 1 || fd.Code == "" || fd.Message == "" {
				t.Fatalf("finding %+v", fd)
			}
		}
	})
}

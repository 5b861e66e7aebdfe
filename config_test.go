package envsync_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envsync/envsync"
	_ "github.com/envsync/envsync/sinks/all"
)

const goodConfig = `version: 1
rules: rules.yaml
apps:
  web-production:
    source: heroku://acme-${STAGE}
    routes:
      feature: s3://acme-env/${STAGE}/feature.env
      static:  tfvars:infra/app.auto.tfvars#app_static_env
      secret:  secretsmanager://acme/${STAGE}
    restart: ecs://acme/web
    flags_file: config/feature.env
  worker:
    source: export.json
    routes:
      dynamic: tfvars:infra/app.auto.tfvars#worker_env
`

func TestParseConfig(t *testing.T) {
	t.Setenv("STAGE", "production")
	dir := t.TempDir()
	cfg, err := envsync.ParseConfig(filepath.Join(dir, "envsync.yaml"), []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps) != 2 || cfg.Apps[0].Name != "web-production" || cfg.Apps[1].Name != "worker" {
		t.Fatalf("apps = %v", cfg.AppNames())
	}
	web := cfg.Apps[0]
	if web.Source != "heroku://acme-production" || web.Routes[envsync.Feature] != "s3://acme-env/production/feature.env" {
		t.Fatalf("web = %+v", web)
	}
	if web.FlagsFile != filepath.Join(dir, "config/feature.env") || cfg.Rules != filepath.Join(dir, "rules.yaml") {
		t.Fatalf("paths are not relative to the config: %q %q", web.FlagsFile, cfg.Rules)
	}
	if cfg.Apps[1].Source != filepath.Join(dir, "export.json") {
		t.Fatalf("source path %q", cfg.Apps[1].Source)
	}
	if apps, err := cfg.Select([]string{"worker"}); err != nil || len(apps) != 1 || apps[0].Name != "worker" {
		t.Fatalf("select: %v %v", apps, err)
	}
	if _, err := cfg.Select([]string{"nope"}); !errors.Is(err, envsync.ErrNotFound) || !strings.Contains(envsync.Hint(err), "web-production, worker") {
		t.Fatalf("select unknown: %v (hint %q)", err, envsync.Hint(err))
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "c.yaml: invalid: the file is empty"},
		{"not yaml", "version: [1\n", "c.yaml:1: invalid: not valid YAML"},
		{"version", "version: 2\napps: {}\n", "c.yaml:1: invalid: version: want 1"},
		{"unknown top", "version: 1\nrule: x\napps: {a: {source: x.env, routes: {}}}\n", `c.yaml:2: invalid: unknown field "rule"`},
		{"no apps", "version: 1\napps: {}\n", "c.yaml:2: invalid: apps: want at least one app"},
		{"unknown app field", "version: 1\napps:\n  a:\n    source: x.env\n    route: {}\n", `c.yaml:5: invalid: app "a": unknown field "route"`},
		{"no source", "version: 1\napps:\n  a:\n    routes: {}\n", `c.yaml:3: invalid: app "a": source: is missing`},
		{"unknown class", "version: 1\napps:\n  a:\n    source: x.env\n    routes:\n      public: file:x.env\n", `c.yaml:6: invalid: app "a": routes: unknown class "public"`},
		{"ignore routed", "version: 1\napps:\n  a:\n    source: x.env\n    routes:\n      ignore: file:x.env\n", "ignore is never routed"},
		{"bad scheme", "version: 1\napps:\n  a:\n    source: x.env\n    routes:\n      feature: gs://b/x.env\n", `c.yaml:6: invalid: app "a": routes: feature: unknown store scheme "gs"`},
		{"bad restart", "version: 1\napps:\n  a:\n    source: x.env\n    routes: {}\n    restart: ecs://cluster\n", "c.yaml:6: invalid: a.restart:"},
		{"unset env var", "version: 1\napps:\n  a:\n    source: heroku://${NOPE_NOT_SET}\n    routes: {}\n", "c.yaml:4: invalid: a.source: environment variable NOPE_NOT_SET is not set"},
		{"duplicate app", "version: 1\napps:\n  a:\n    source: x.env\n    routes: {}\n  a:\n    source: y.env\n    routes: {}\n", `c.yaml:6: invalid: app "a" is defined twice (first on line 3)`},
		{"duplicate source", "version: 1\napps:\n  a:\n    source: x.env\n    routes: {}\n    source: y.env\n", `c.yaml:6: invalid: app "a": source: is set twice (first on line 4); keep one`},
		{"duplicate restart", "version: 1\napps:\n  a:\n    source: x.env\n    restart: ecs://c/a\n    routes: {}\n    restart: ecs://c/b\n", `c.yaml:7: invalid: app "a": restart: is set twice (first on line 5)`},
		{"duplicate route", "version: 1\napps:\n  a:\n    source: x.env\n    routes:\n      feature: file:a.env\n      feature: file:b.env\n", `c.yaml:7: invalid: app "a": routes: feature is routed twice (first on line 6)`},
		{"duplicate top", "version: 1\nversion: 1\napps: {a: {source: x.env, routes: {}}}\n", `c.yaml:2: invalid: "version" is set twice (first on line 1)`},
		{"second document", "version: 1\napps: {a: {source: x.env, routes: {}}}\n---\napps: {b: {source: y.env, routes: {}}}\n", "c.yaml:3: invalid: a second YAML document (after ---): keep every app in one document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := envsync.ParseConfig("c.yaml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want %q", err, tt.want)
			}
		})
	}
}

// A 40-app config stays DRY: anchors in x-… fields, merge keys, aliases.
func TestParseConfigAnchors(t *testing.T) {
	const dry = `version: 1
x-routes: &routes
  static: tfvars:infra/app.auto.tfvars#static
  secret: secretsmanager://acme/shared
x-app: &app
  restart: ecs://acme/web
  routes: *routes
apps:
  web:
    <<: *app
    source: heroku://acme-web
    x-owner: payments team
  worker:
    <<: *app
    source: heroku://acme-worker
    restart: ecs://acme/worker
    routes:
      <<: *routes
      feature: s3://acme-env/worker/feature.env
`
	cfg, err := envsync.ParseConfig(filepath.Join(t.TempDir(), "envsync.yaml"), []byte(dry))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.AppNames(), ","); got != "web,worker" {
		t.Fatalf("apps = %s", got)
	}
	web, worker := cfg.Apps[0], cfg.Apps[1]
	if web.Restart != "ecs://acme/web" || web.Routes[envsync.Secret] != "secretsmanager://acme/shared" || len(web.Routes) != 2 {
		t.Errorf("web = %+v", web)
	}
	if worker.Restart != "ecs://acme/worker" || worker.Routes[envsync.Feature] != "s3://acme-env/worker/feature.env" || len(worker.Routes) != 3 {
		t.Errorf("worker: the keys written in the app must beat the merged ones: %+v", worker)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"merge of a scalar", "version: 1\napps:\n  web:\n    <<: 3\n    source: a.env\n", `envsync.yaml:4: invalid: <<: want a mapping`},
		{"a cycle", "version: 1\napps:\n  web: &w\n    <<: *w\n", `envsync.yaml:4: invalid: <<: merges a mapping into itself`},
		{"x- inside routes", "version: 1\napps:\n  web:\n    source: a.env\n    routes:\n      x-feature: file:f.env\n", `envsync.yaml:6: invalid: app "web": routes: `},
	} {
		_, err := envsync.ParseConfig("envsync.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v; want %q", tc.name, err, tc.want)
		}
	}
}

// FuzzParseConfigMerge: anchors, aliases and merge keys never panic or hang.
func FuzzParseConfigMerge(f *testing.F) {
	f.Add([]byte("version: 1\nx-r: &r\n  feature: file:f.env\napps:\n  web:\n    source: a.env\n    routes:\n      <<: *r\n"))
	f.Add([]byte("version: 1\napps: &a\n  web:\n    <<: [*a, *a]\n"))
	f.Add([]byte("x: &x\n  <<: *x\n"))
	f.Add([]byte("version: 1\napps:\n  web: &w\n    <<: *w\n"))
	f.Add([]byte("a: &a {k: 1}\nb: &b {<<: [*a, *a]}\nc: &c {<<: [*b, *b]}\nversion: 1\napps: {web: {<<: *c}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		envsync.ParseConfig("envsync.yaml", data)
	})
}

// BenchmarkParseConfigManyApps: the duplicate-app check is a map lookup, so a
// config with 50,000 apps parses in about the time YAML decoding takes.
func BenchmarkParseConfigManyApps(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("version: 1\napps:\n")
	for i := range 50000 {
		fmt.Fprintf(&sb, "  app-%d: {source: x.env, routes: {feature: file:f%d.env}}\n", i, i)
	}
	data := []byte(sb.String())
	for b.Loop() {
		if _, err := envsync.ParseConfig("c.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseConfig: any input parses or fails with a file:line error wrapping
// ErrInvalid; never a panic. No size cut.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(goodConfig))
	f.Add([]byte("version: 1\napps: {a: {source: x.env, routes: {}}}\n---\nb: 1\n"))
	f.Add([]byte("version: 1\napps:\n  a:\n    source: x.env\n    source: y.env\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := envsync.ParseConfig("c.yaml", data); err != nil && !errors.Is(err, envsync.ErrInvalid) && !errors.Is(err, envsync.ErrUnknownScheme) {
			t.Fatalf("error not wrapping ErrInvalid: %v", err)
		}
	})
}

package envsync_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envsync/envsync"
)

const defaultsConfig = `version: 1
defaults:
  source: heroku://{app}
  routes:
    feature: s3://acme-env/{app}/feature.env
    static:  tfvars:infra/{app}/app_env.auto.tfvars#app_static_env
    secret:  secretsmanager://acme/{app}
  restart: ecs://acme-${STAGE}/{app}
apps:
  acme-web: {}
  acme-api:
  acme-worker:
    source: heroku://acme-worker-eu
    routes:
      secret: secretsmanager://acme/shared-worker
    restart: ecs://jobs/worker
`

func TestConfigDefaults(t *testing.T) {
	t.Setenv("STAGE", "production")
	dir := t.TempDir()
	cfg, err := envsync.ParseConfig(filepath.Join(dir, "envsync.yaml"), []byte(defaultsConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, source, restart, feature, static, secret string
	}{
		{"acme-web", "heroku://acme-web", "ecs://acme-production/acme-web", "s3://acme-env/acme-web/feature.env", "tfvars:infra/acme-web/app_env.auto.tfvars#app_static_env", "secretsmanager://acme/acme-web"},
		{"acme-api", "heroku://acme-api", "ecs://acme-production/acme-api", "s3://acme-env/acme-api/feature.env", "tfvars:infra/acme-api/app_env.auto.tfvars#app_static_env", "secretsmanager://acme/acme-api"},
		{"acme-worker", "heroku://acme-worker-eu", "ecs://jobs/worker", "s3://acme-env/acme-worker/feature.env", "tfvars:infra/acme-worker/app_env.auto.tfvars#app_static_env", "secretsmanager://acme/shared-worker"},
	}
	if len(cfg.Apps) != len(want) {
		t.Fatalf("apps = %v", cfg.AppNames())
	}
	for i, w := range want {
		a := cfg.Apps[i]
		got := []string{a.Name, a.Source, a.Restart, a.Routes[envsync.Feature], a.Routes[envsync.Static], a.Routes[envsync.Secret]}
		exp := []string{w.name, w.source, w.restart, w.feature, w.static, w.secret}
		if strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Errorf("app %d:\n got %q\nwant %q", i, got, exp)
		}
		if _, ok := a.Routes[envsync.Dynamic]; ok {
			t.Errorf("%s: dynamic is routed, but neither defaults nor the app route it", a.Name)
		}
	}
}

func TestConfigDefaultsErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown field", "version: 1\ndefaults:\n  route: {}\napps:\n  a: {}\n", `c.yaml:3: invalid: defaults: unknown field "route"`},
		{"not a mapping", "version: 1\ndefaults: heroku://{app}\napps:\n  a: {}\n", "c.yaml:2: invalid: defaults: want a mapping"},
		{"bad route url", "version: 1\ndefaults:\n  source: heroku://{app}\n  routes:\n    feature: gs://b/{app}.env\napps:\n  web: {}\n", `c.yaml:5: invalid: defaults.routes.feature for app "web": unknown store scheme "gs"`},
		{"bad restart", "version: 1\ndefaults:\n  source: heroku://{app}\n  restart: ecs://{app}\napps:\n  web: {}\n", `c.yaml:4: invalid: defaults.restart for app "web"`},
		{"unknown class", "version: 1\ndefaults:\n  routes:\n    public: file:x.env\napps:\n  a: {}\n", `c.yaml:4: invalid: defaults: routes: unknown class "public"`},
		{"ignore routed", "version: 1\ndefaults:\n  routes:\n    ignore: file:x.env\napps:\n  a: {}\n", "c.yaml:4: invalid: defaults: routes: ignore is never routed"},
		{"unset env var", "version: 1\ndefaults:\n  source: heroku://${NOPE_NOT_SET}-{app}\napps:\n  a: {}\n", `c.yaml:3: invalid: a.source (from defaults:): environment variable NOPE_NOT_SET is not set`},
		{"twice in app", "version: 1\ndefaults:\n  source: heroku://{app}\n  routes:\n    secret: secretsmanager://a/{app}\napps:\n  a:\n    routes:\n      secret: secretsmanager://x\n      secret: secretsmanager://y\n", "c.yaml:10: invalid: app \"a\": routes: secret is routed twice"},
		{"no source anywhere", "version: 1\ndefaults:\n  routes:\n    secret: secretsmanager://a/{app}\napps:\n  a:\n", `c.yaml:6: invalid: app "a": source: is missing`},
		{"null app without defaults", "version: 1\napps:\n  a:\n", `c.yaml:3: invalid: app "a": want a mapping`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := envsync.ParseConfig("c.yaml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, envsync.ErrInvalid) {
				t.Fatalf("err = %v; want %q", err, tt.want)
			}
		})
	}
}

// FuzzParseConfigDefaults: any config with defaults: parses or fails with
// an ErrInvalid error, never a panic.
func FuzzParseConfigDefaults(f *testing.F) {
	f.Add(defaultsConfig)
	f.Add("version: 1\ndefaults:\n  routes:\n    secret: secretsmanager://a/{app}\napps:\n  a:\n")
	f.Fuzz(func(t *testing.T, in string) {
		_, err := envsync.ParseConfig("c.yaml", []byte(in))
		if err != nil && !errors.Is(err, envsync.ErrInvalid) && !errors.Is(err, envsync.ErrUnknownScheme) {
			t.Fatalf("error without a sentinel: %v", err)
		}
	})
}

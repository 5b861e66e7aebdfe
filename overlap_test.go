package envsync_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/classify"
	_ "github.com/envsync/envsync/sinks/all"
)

// Overlapping routes are refused by the plan before any call; the stores
// say what they own (Claimer).
func TestPlanRefusesOverlaps(t *testing.T) {
	app := func(name, secret, feature string) string {
		return fmt.Sprintf("  %s:\n    source: x.env\n    routes:\n      secret: %s\n      feature: %s\n", name, secret, feature)
	}
	tests := []struct {
		name  string
		apps  string
		prune bool
		want  string // "" = no overlap
	}{
		{"nested per-key prefixes", app("web", "secretsmanager://acme/prod?layout=per-key", "file:web.env") + app("worker", "secretsmanager://acme/prod/worker?layout=per-key", "file:worker.env"), false, `routes overlap: app "worker" routes to secretsmanager://acme/prod/worker?layout=per-key, inside app "web" routes to secretsmanager://acme/prod?layout=per-key`},
		{"json secret inside a per-key prefix", app("web", "secretsmanager://acme/prod?layout=per-key", "file:web.env") + app("worker", "secretsmanager://acme/prod/worker", "file:worker.env"), false, "routes overlap"},
		{"sibling prefixes", app("web", "secretsmanager://acme/prod?layout=per-key", "file:web.env") + app("other", "secretsmanager://acme/prod-x?layout=per-key", "file:o.env") + app("worker", "secretsmanager://acme/prod/w?layout=per-key", "file:worker.env"), false, "routes overlap"},
		{"distinct prefixes", app("web", "secretsmanager://acme/prod/web?layout=per-key", "file:web.env") + app("worker", "secretsmanager://acme/prod/worker?layout=per-key", "file:worker.env"), true, ""},
		{"one s3 file shared, no prune", app("web", "secretsmanager://a/web", "s3://b/flags.env") + app("worker", "secretsmanager://a/worker", "s3://b/flags.env"), false, ""},
		{"one s3 file shared by apps with different sources", app("web", "secretsmanager://a/web", "s3://b/flags.env") + strings.Replace(app("worker", "secretsmanager://a/worker", "s3://b/flags.env"), "source: x.env", "source: y.env", 1), false, `routes overlap: app "web" routes to s3://b/flags.env and app "worker" routes to s3://b/flags.env is the same store, but their sources differ (`},
		{"one s3 file shared, prune", app("web", "secretsmanager://a/web", "s3://b/flags.env") + app("worker", "secretsmanager://a/worker", "s3://b/flags.env"), true, `routes overlap: app "web" routes to s3://b/flags.env and app "worker" routes to s3://b/flags.env is the same store`},
		{"one tfvars variable spelled two ways in one app", "  web:\n    source: x.env\n    routes:\n      static: tfvars:app.tfvars#app_env\n      dynamic: tfvars:./app.tfvars#app_env\n", false, `routes overlap: app "web" routes to`},
		{"one tfvars file, two variables", "  web:\n    source: x.env\n    routes:\n      static: tfvars:app.tfvars#app_static\n      dynamic: tfvars:./app.tfvars#app_dynamic\n", true, ""},
		{"one local file via a different path, prune", app("web", "secretsmanager://a/web", "file:flags.env") + app("worker", "secretsmanager://a/worker", "file:./sub/../flags.env"), true, "routes overlap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, err := envsync.ParseConfig(filepath.Join(dir, "envsync.yaml"), []byte("version: 1\napps:\n"+tt.apps))
			if err != nil {
				t.Fatal(err)
			}
			eng := &envsync.Engine{Classifier: classify.New(nil), Prune: tt.prune}
			_, err = eng.Plan(t.Context(), cfg, cfg.Apps[0])
			if tt.want == "" {
				if errors.Is(err, envsync.ErrOverlap) {
					t.Fatalf("err = %v; want no overlap", err)
				}
				return
			}
			if !errors.Is(err, envsync.ErrOverlap) || !strings.Contains(err.Error(), tt.want) || envsync.Hint(err) == "" {
				t.Fatalf("err = %v; want %q and a hint", err, tt.want)
			}
		})
	}
}

// heroku:// is a source: a route to it is refused, for plan and import alike.
func TestPlanRefusesHerokuRoute(t *testing.T) {
	dir := t.TempDir()
	cfg, err := envsync.ParseConfig(filepath.Join(dir, "envsync.yaml"), []byte("version: 1\napps:\n  web:\n    source: x.env\n    routes:\n      static: heroku://acme\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&envsync.Engine{Classifier: classify.New(nil)}).Plan(t.Context(), cfg, cfg.Apps[0])
	if !errors.Is(err, envsync.ErrInvalid) || err.Error() != `app "web": routes: static → heroku://acme: invalid: it is a source; envsync never writes or deletes there` {
		t.Fatalf("err = %v", err)
	}
}

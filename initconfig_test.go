package envsync_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/classify"
)

var initOpts = envsync.InitOptions{
	Bucket: "acme-env", Tfvars: "infra/{app}/app_env.auto.tfvars", Secrets: "acme/{app}",
	Restart: "ecs://acme/{app}", Command: "envsync init --team acme",
}

// TestGenerateConfigFortyApps: forty apps are forty one-line entries (plus a
// summary comment each) under one defaults: block, and the file parses to
// the routes the templates say.
func TestGenerateConfigFortyApps(t *testing.T) {
	var apps []envsync.InitApp
	for i := range 40 {
		apps = append(apps, envsync.InitApp{Name: fmt.Sprintf("acme-%02d", i), Team: "acme"})
	}
	path := filepath.Join(t.TempDir(), "envsync.yaml")
	data, err := envsync.GenerateConfig(t.Context(), path, apps, initOpts, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, appLines, _ := strings.Cut(string(data), "\napps:\n")
	if n := strings.Count(appLines, "\n"); n != 40 {
		t.Errorf("%d lines for 40 apps, want 40:\n%s", n, appLines)
	}
	if n := strings.Count(string(data), "\n"); n > 60 {
		t.Errorf("the file has %d lines for 40 apps", n)
	}
	cfg, err := envsync.ParseConfig(path, data)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Apps[7]
	if a.Name != "acme-07" || a.Source != "heroku://acme-07" || a.Restart != "ecs://acme/acme-07" ||
		a.Routes[envsync.Feature] != "s3://acme-env/acme-07/feature.env" ||
		a.Routes[envsync.Static] != "tfvars:infra/acme-07/app_env.auto.tfvars#app_static_env" ||
		a.Routes[envsync.Dynamic] != "tfvars:infra/acme-07/app_env.auto.tfvars#app_dynamic_env" ||
		a.Routes[envsync.Secret] != "secretsmanager://acme/acme-07" {
		t.Errorf("app 7 = %+v", a)
	}
}

// TestGenerateConfigStages: a field that uses {stage} is written on each app.
func TestGenerateConfigStages(t *testing.T) {
	apps := []envsync.InitApp{{Name: "checkout-staging", Stage: "staging"}, {Name: "checkout-prod", Stage: "production"}}
	opts := envsync.InitOptions{Bucket: "acme-env", Secrets: "acme/{stage}", Restart: "ecs://acme-{stage}/web", Command: "envsync init --pipeline checkout"}
	path := filepath.Join(t.TempDir(), "envsync.yaml")
	data, err := envsync.GenerateConfig(t.Context(), path, apps, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := envsync.ParseConfig(path, data)
	if err != nil {
		t.Fatal(err)
	}
	prod := cfg.Apps[1]
	if prod.Restart != "ecs://acme-production/web" || prod.Routes[envsync.Secret] != "secretsmanager://acme/production" || prod.Routes[envsync.Feature] != "s3://acme-env/checkout-prod/feature.env" {
		t.Errorf("prod = %+v\n%s", prod, data)
	}
	if strings.Contains(string(data), "{stage}") {
		t.Errorf("{stage} left in the config:\n%s", data)
	}
}

func TestGenerateConfigRefuses(t *testing.T) {
	apps := []envsync.InitApp{{Name: "web"}, {Name: "api"}}
	path := filepath.Join(t.TempDir(), "envsync.yaml")
	for name, tt := range map[string]struct {
		opts envsync.InitOptions
		want string
	}{
		"shared secret": {envsync.InitOptions{Bucket: "b", Secrets: "acme/shared"}, `invalid: routes.secret: secretsmanager://acme/shared names one store for every app`},
		"shared tfvars": {envsync.InitOptions{Tfvars: "infra/app.auto.tfvars"}, "invalid: routes.static: tfvars:infra/app.auto.tfvars#app_static_env names one store for every app"},
		"no routes":     {envsync.InitOptions{}, "invalid: no routes"},
		"same stage":    {envsync.InitOptions{Secrets: "acme/{stage}"}, `invalid: routes.secret: apps "web" and "api" would share secretsmanager://acme/`},
		"tfvars var":    {envsync.InitOptions{Tfvars: "infra/{app}.tfvars#x"}, "give the file only"},
		"bad restart":   {envsync.InitOptions{Bucket: "b", Restart: "ecs://{app}"}, "the generated config is not valid"},
		"bad feature":   {envsync.InitOptions{Feature: "s3://b/{app}/feature.txt"}, "the generated config is not valid"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := envsync.GenerateConfig(t.Context(), path, apps, tt.opts, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, envsync.ErrInvalid) {
				t.Fatalf("err = %v; want %q", err, tt.want)
			}
		})
	}
	if _, err := envsync.GenerateConfig(t.Context(), path, nil, initOpts, nil); !errors.Is(err, envsync.ErrNotFound) {
		t.Errorf("no apps: %v", err)
	}
}

// TestSummarizeApps classifies each app's source; an app that cannot be
// read keeps its error and the others are still summarized.
func TestSummarizeApps(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "web.env"), "FEATURE_CHECKOUT=on\nRAILS_ENV=production\nXYZZY_PLUGH=Zq9-x.7/Kp2\n")
	apps := []envsync.InitApp{{Name: "web"}, {Name: "gone"}}
	sums := envsync.SummarizeApps(context.Background(), apps, func(a envsync.InitApp) (envsync.Source, error) {
		return envsync.OpenSource(context.Background(), filepath.Join(dir, a.Name+".env"), envsync.OpenOptions{})
	}, classify.New(nil), 2)
	web, gone := sums[0], sums[1]
	if web.Vars != 3 || web.Classes[envsync.Feature] != 1 || web.Classes[envsync.Static] != 1 || web.Classes[envsync.Secret] != 1 || web.Review != 1 || web.Err != nil {
		t.Errorf("web = %+v", web)
	}
	if !errors.Is(gone.Err, envsync.ErrNotFound) || gone.App.Name != "gone" {
		t.Errorf("gone = %+v", gone)
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

package ecs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/sinktest"
)

func TestMain(m *testing.M) { sinktest.Main(m) }

func TestDescribeAndRestart(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	cluster, service := sinktest.Name("cluster"), sinktest.Name("web")
	sinktest.ECSService(t, cluster, service, sinktest.Container{
		Env:      map[string]string{"RAILS_ENV": "production"},
		EnvFiles: []string{"s3://acme-env/prod/feature.env"},
		Secrets:  map[string]string{"DATABASE_URL": "arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/prod-AbCdEf:DATABASE_URL::"},
	})
	counter := &envsync.CallCounter{}
	svc, err := Open(ctx, "ecs://"+cluster+"/"+service, envsync.OpenOptions{HTTPClient: counter.Client()})
	if err != nil {
		t.Fatal(err)
	}
	run, err := svc.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Containers) != 1 {
		t.Fatalf("containers = %+v", run.Containers)
	}
	ct := run.Containers[0]
	if ct.Environment["RAILS_ENV"] != "production" || len(ct.EnvFiles) != 1 || ct.EnvFiles[0] != "s3://acme-env/prod/feature.env" || ct.Secrets["DATABASE_URL"] == "" {
		t.Fatalf("container = %+v", ct)
	}
	id, err := svc.Restart(ctx)
	if err != nil || id == "" {
		t.Fatalf("restart: %q, %v", id, err)
	}
	if n := counter.Calls()["UpdateService"]; n != 1 {
		t.Fatalf("UpdateService calls = %d; want 1", n)
	}
	// moto starts no tasks, so the rollout never completes: Wait must give
	// up at its deadline with the last progress, having reported progress.
	// (A generous deadline: under load one DescribeServices on moto can take
	// a second; the test asserts the outcome, not the timing.)
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	polls := 0
	err = svc.Wait(wctx, id, 200*time.Millisecond, func(p Progress) { polls++ })
	if err == nil || !strings.Contains(err.Error(), "waiting for deployment") || polls < 1 {
		t.Fatalf("wait: err = %v after %d polls", err, polls)
	}
}

func TestDescribeSidecarsAndMissing(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	cluster := sinktest.Name("cluster")
	sinktest.ECSService(t, cluster, "api",
		sinktest.Container{Name: "api", EnvFiles: []string{"s3://acme-env/a.env", "s3://acme-env/b.env"}},
		sinktest.Container{Name: "log-router", Sidecar: true, Env: map[string]string{"FLUENT": "1"}})
	run, err := ReadDeployment(ctx, "ecs://"+cluster+"/api", envsync.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Containers) != 2 || run.ServiceName != "api" {
		t.Fatalf("deployment = %+v", run)
	}
	app, side := run.Containers[0], run.Containers[1]
	if !app.Essential || side.Essential || side.Name != "log-router" || len(app.EnvFiles) != 2 || app.EnvFiles[1] != "s3://acme-env/b.env" {
		t.Fatalf("containers = %+v", run.Containers)
	}
	for _, u := range []string{"ecs://" + cluster + "/no-such-service", "ecs://" + sinktest.Name("nocluster") + "/api"} {
		_, err := ReadDeployment(ctx, u, envsync.OpenOptions{})
		if !errors.Is(err, envsync.ErrNotFound) {
			t.Errorf("%s: err = %v; want ErrNotFound", u, err)
		}
	}
}

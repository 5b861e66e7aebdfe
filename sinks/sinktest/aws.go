package sinktest

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
)

// T is the part of testing.TB the helpers here use, so testscript commands
// can call them too.
type T interface {
	Helper()
	Context() context.Context
	Fatal(args ...any)
}

// Bucket creates a bucket on moto (call AWS first) and returns its name.
func Bucket(t T, versioned bool) string {
	t.Helper()
	ctx := t.Context()
	cfg, err := awscfg.Load(ctx, envsync.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	name := Name("envsync")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatal(err)
	}
	if versioned {
		_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &name, VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return name
}

// Container describes one container of a test service.
type Container struct {
	Name     string // default "web"
	Sidecar  bool   // not essential (a log router, an APM agent)
	Env      map[string]string
	EnvFiles []string          // s3://BUCKET/KEY URLs
	Secrets  map[string]string // name → valueFrom
}

// ECSService creates a cluster, a task definition with the containers (the
// app container first, then sidecars) and a service on moto.
func ECSService(t T, cluster, service string, cts ...Container) {
	t.Helper()
	ctx := t.Context()
	cfg, err := awscfg.Load(ctx, envsync.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := ecs.NewFromConfig(cfg)
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: &cluster}); err != nil {
		t.Fatal(err)
	}
	var defs []ecstypes.ContainerDefinition
	for _, ct := range cts {
		name := ct.Name
		if name == "" {
			name = "web"
		}
		def := ecstypes.ContainerDefinition{Name: aws.String(name), Image: aws.String("acme/" + name + ":1"), Memory: aws.Int32(512), Essential: aws.Bool(!ct.Sidecar)}
		for k, v := range ct.Env {
			def.Environment = append(def.Environment, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
		}
		for _, f := range ct.EnvFiles {
			def.EnvironmentFiles = append(def.EnvironmentFiles, ecstypes.EnvironmentFile{Type: ecstypes.EnvironmentFileTypeS3, Value: aws.String("arn:aws:s3:::" + f[len("s3://"):])})
		}
		for k, v := range ct.Secrets {
			def.Secrets = append(def.Secrets, ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(v)})
		}
		defs = append(defs, def)
	}
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(cluster + "-" + service), ContainerDefinitions: defs})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: &cluster, ServiceName: &service, TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
}

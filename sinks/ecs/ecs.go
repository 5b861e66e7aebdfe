// Package ecs reads and restarts ECS services (ecs://CLUSTER/SERVICE).
//
// It is not a store: after a flag change envsync rolls the service with
// UpdateService and ForceNewDeployment (no image build), and a drift check
// reads the running task definition to see what the containers really load.
// ECS reads env files and secrets only when a task starts.
package ecs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
)

// api lists the only ECS calls this package makes.
type api interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	UpdateService(context.Context, *ecs.UpdateServiceInput, ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
}

// Service is one ECS service.
type Service struct {
	URL, Cluster, Name string

	opts   envsync.OpenOptions
	client api
}

// Open parses ecs://CLUSTER/SERVICE. It makes no call.
func Open(ctx context.Context, raw string, opts envsync.OpenOptions) (*Service, error) {
	cluster, service, err := envsync.ParseECSURL(raw)
	if err != nil {
		return nil, err
	}
	return &Service{URL: raw, Cluster: cluster, Name: service, opts: opts}, nil
}

func (s *Service) api(ctx context.Context) (api, error) {
	if s.client != nil {
		return s.client, nil
	}
	cfg, err := awscfg.Load(ctx, s.opts)
	if err != nil {
		return nil, err
	}
	s.client = ecs.NewFromConfig(cfg)
	return s.client, nil
}

// Describe reads the service's primary deployment and its task definition:
// two calls. Every container is read (environment, environmentFiles in
// order, secrets, essential). A missing cluster or service is an error
// wrapping envsync.ErrNotFound.
func (s *Service) Describe(ctx context.Context) (*envsync.Deployment, error) {
	c, err := s.api(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := s.describeService(ctx, c)
	if err != nil {
		return nil, err
	}
	run := &envsync.Deployment{Service: s.URL, ServiceName: s.Name, TaskDefinition: aws.ToString(svc.TaskDefinition)}
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			run.TaskDefinition = aws.ToString(d.TaskDefinition)
			run.StartedAt = aws.ToTime(d.CreatedAt)
		}
	}
	td, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(run.TaskDefinition)})
	if err != nil {
		return nil, s.wrap("reading the task definition of", err)
	}
	for _, cd := range td.TaskDefinition.ContainerDefinitions {
		// essential defaults to true when the task definition omits it.
		ct := envsync.DeployedContainer{Name: aws.ToString(cd.Name), Essential: cd.Essential == nil || *cd.Essential,
			Environment: map[string]string{}, Secrets: map[string]string{}}
		for _, kv := range cd.Environment {
			ct.Environment[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
		}
		for _, f := range cd.EnvironmentFiles {
			ct.EnvFiles = append(ct.EnvFiles, S3ARNToURL(aws.ToString(f.Value)))
		}
		for _, sec := range cd.Secrets {
			ct.Secrets[aws.ToString(sec.Name)] = aws.ToString(sec.ValueFrom)
		}
		run.Containers = append(run.Containers, ct)
	}
	return run, nil
}

func (s *Service) describeService(ctx context.Context, c api) (*types.Service, error) {
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.Cluster), Services: []string{s.Name}})
	if err != nil {
		return nil, s.wrap("reading", err)
	}
	if len(out.Services) == 0 || aws.ToString(out.Services[0].Status) == "INACTIVE" {
		return nil, envsync.WithHint(fmt.Errorf("%s: service %q in cluster %q: %w", s.URL, s.Name, s.Cluster, envsync.ErrNotFound),
			"check restart: in the config names an active service")
	}
	return &out.Services[0], nil
}

// ReadDeployment is an envsync.DeploymentReader: what ecs://CLUSTER/SERVICE runs.
func ReadDeployment(ctx context.Context, service string, opts envsync.OpenOptions) (*envsync.Deployment, error) {
	svc, err := Open(ctx, service, opts)
	if err != nil {
		return nil, err
	}
	return svc.Describe(ctx)
}

// Restart starts a new deployment of the service with the same task
// definition (UpdateService with ForceNewDeployment), so new tasks read the
// env files and secrets again. It returns the new deployment's id.
func (s *Service) Restart(ctx context.Context) (string, error) {
	c, err := s.api(ctx)
	if err != nil {
		return "", err
	}
	out, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(s.Cluster), Service: aws.String(s.Name), ForceNewDeployment: true,
	})
	if err != nil {
		return "", s.wrap("restarting", err)
	}
	for _, d := range out.Service.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToString(d.Id), nil
		}
	}
	return "", nil
}

// Progress is one observation of a rollout.
type Progress struct {
	Deployment       string
	Running, Desired int32
	Pending          int32
	State            string // IN_PROGRESS, COMPLETED, FAILED
	Deployments      int    // how many deployments the service still has
}

func (p Progress) String() string {
	return fmt.Sprintf("deployment %s: %s, %d/%d running, %d pending, %d deployment(s)", p.Deployment, strings.ToLower(p.State), p.Running, p.Desired, p.Pending, p.Deployments)
}

// Wait follows deployment id until it is stable (the primary deployment has
// completed its rollout, or all desired tasks run and no other deployment is
// left), failed, or ctx ends. progress, if set, is called after each poll.
func (s *Service) Wait(ctx context.Context, id string, every time.Duration, progress func(Progress)) error {
	c, err := s.api(ctx)
	if err != nil {
		return err
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last *Progress
	for {
		svc, err := s.describeService(ctx, c)
		if err != nil {
			if ctx.Err() != nil && last != nil {
				// The wait ran out during a poll: that is the deadline, not the network.
				return fmt.Errorf("%s: waiting for deployment %s: %w (last: %s)", s.URL, last.Deployment, ctx.Err(), *last)
			}
			return err
		}
		i := slices.IndexFunc(svc.Deployments, func(d types.Deployment) bool {
			return aws.ToString(d.Id) == id || id == "" && aws.ToString(d.Status) == "PRIMARY"
		})
		if i < 0 {
			return fmt.Errorf("%s: deployment %s was replaced by another one", s.URL, id)
		}
		d := svc.Deployments[i]
		p := Progress{Deployment: aws.ToString(d.Id), Running: d.RunningCount, Desired: d.DesiredCount, Pending: d.PendingCount, State: string(d.RolloutState), Deployments: len(svc.Deployments)}
		last = &p
		if progress != nil {
			progress(p)
		}
		switch {
		case d.RolloutState == types.DeploymentRolloutStateFailed:
			return fmt.Errorf("%s: deployment %s failed: %s", s.URL, p.Deployment, aws.ToString(d.RolloutStateReason))
		case d.RolloutState == types.DeploymentRolloutStateCompleted,
			p.Deployments == 1 && d.RunningCount >= d.DesiredCount && d.PendingCount == 0:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for deployment %s: %w (last: %s)", s.URL, p.Deployment, ctx.Err(), p)
		case <-tick.C:
		}
	}
}

// S3ARNToURL turns arn:aws:s3:::bucket/key into s3://bucket/key; other
// values are returned unchanged.
func S3ARNToURL(arn string) string {
	if rest, ok := strings.CutPrefix(arn, "arn:"); ok {
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) == 5 && parts[1] == "s3" {
			return "s3://" + parts[4]
		}
	}
	return arn
}

func (s *Service) wrap(what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException":
			return envsync.WithHint(fmt.Errorf("%s %s: %w", what, s.URL, envsync.ErrAccessDenied),
				"the role needs ecs:DescribeServices and ecs:DescribeTaskDefinition (and ecs:UpdateService to restart) on that service")
		case "ClusterNotFoundException", "ServiceNotFoundException", "ServiceNotActiveException", "ClientException":
			return envsync.WithHint(fmt.Errorf("%s %s: %s: %w", what, s.URL, ae.ErrorMessage(), envsync.ErrNotFound),
				"check restart: in the config (ecs://CLUSTER/SERVICE)")
		}
	}
	return fmt.Errorf("%s %s: %w", what, s.URL, awscfg.Translate(err))
}

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
)

func ecsCommand() *cli.Command {
	return &cli.Command{
		Name:  "ecs",
		Usage: "wire an app's variables into its ECS task definition",
		Subcommands: []*cli.Command{{
			Name:  "render",
			Usage: "print the container's environmentFiles, secrets and environment, and the execution role's policy",
			Description: `For the app's container: environmentFiles (the feature env file), one
secrets entry per secret (valueFrom is the secret's full ARN, looked up with
DescribeSecret, then :KEY:: in the JSON layout; the key's own secret ARN in
the per-key layout), the static and dynamic variables as environment entries,
and the least-privilege policy for the task execution role.

--format json: {"containerDefinition": {…}, "executionRolePolicy": {…}};
merge containerDefinition into your container definition.
--format hcl: provider-free Terraform — variable blocks for the tfvars maps,
locals and outputs (environment_files, secrets, environment built from the
tfvars maps, execution_role_policy as jsonencode) for your own
aws_ecs_task_definition and IAM resources.

Only references are printed, never a secret's value. Reads the source and
the stores; writes nothing.`,
			Flags: []cli.Flag{oneAppFlag(), rulesFlag(),
				&cli.StringFlag{Name: "format", Aliases: []string{"o"}, Value: "json", EnvVars: []string{"ENVSYNC_RENDER_FORMAT"}, Usage: "json or hcl"},
			},
			Action: runRender,
		}},
	}
}

type renderJSON struct {
	App                 string                  `json:"app"`
	Container           string                  `json:"container,omitempty"`
	ContainerDefinition envsync.ContainerWiring `json:"containerDefinition"`
	ExecutionRolePolicy *envsync.Policy         `json:"executionRolePolicy"`
}

func runRender(c *cli.Context) error {
	format := c.String("format")
	if format != "json" && format != "hcl" {
		return usageError("--format %q: want json or hcl", format)
	}
	s, err := newSetup(c, false)
	if err != nil {
		return err
	}
	if len(s.apps) != 1 {
		return usageError("ecs render needs exactly one --app (the config has %d apps)", len(s.apps))
	}
	defer s.logCalls()
	cfg, apps, eng := s.cfg, s.apps, s.engine(false)
	w, err := eng.RenderECS(c.Context, cfg, apps[0])
	if err != nil {
		return err
	}
	for _, msg := range w.Warnings {
		warnf(c.App.ErrWriter, "%s", msg)
	}
	if format == "hcl" {
		_, err := c.App.Writer.Write(w.HCL())
		return err
	}
	return writeJSON(c.App.Writer, renderJSON{App: w.App.Name, Container: w.Container, ContainerDefinition: w.ContainerDefinition(), ExecutionRolePolicy: w.Policy})
}

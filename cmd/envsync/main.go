// Command envsync moves Heroku config vars to AWS and keeps them right.
//
// It only parses flags, prints and picks the exit code; the work is done by
// the envsync package and the stores in sinks/.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
	_ "github.com/envsync/envsync/sinks/all"
)

// Exit codes scripts can rely on.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2 // drift: drift found; plan --detailed-exitcode: changes to apply
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	shapeCommands(app)
	args, err := normalizeArgs(app, args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	var ex *exitCodeError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ex):
		return ex.code
	}
	printError(stderr, err)
	return exitError
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:    "envsync",
		Usage:   "move Heroku config vars to AWS (S3 env files, tfvars, Secrets Manager) and keep them right",
		Version: envsync.Version,
		Description: `envsync sorts every config var into feature, static, dynamic or secret,
routes each class to its home on AWS, finds drift, and flips feature flags
without a deploy.

Exit codes: 0 success, 1 error, 2 drift found (drift) or changes to apply
(plan --detailed-exitcode).`,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		ExitErrHandler:       func(*cli.Context, error) {}, // only run() prints and picks the exit code
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: "envsync.yaml", EnvVars: []string{"ENVSYNC_CONFIG"}, Usage: "the config file (apps, sources, routes)"},
			&cli.BoolFlag{Name: "verbose", EnvVars: []string{"ENVSYNC_VERBOSE"}, Usage: "log debug detail (names, classes, store URLs and API call counts; never values) to stderr"},
		},
		Before: setupLogging,
		Commands: bounded([]*cli.Command{
			classifyCommand(),
			planCommand(),
			importCommand(),
			driftCommand(),
			watchCommand(),
			flagsCommand(),
			checkCommand(),
			versionCommand(),
			completionCommand(),
			ecsCommand(),
			parityCommand(),
			initCommand(),
			cutoverCommand(),
		}),
	}
}

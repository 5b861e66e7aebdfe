package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
)

// commandTimeouts is how long each command may take by default, end to end:
// every read, write and retry shares one deadline, so a blackholed endpoint
// costs at most this long, not attempts × the SDK's per-call wait. plan,
// import, drift and watch bound each app themselves (timeoutFlag in run.go).
var commandTimeouts = map[string]time.Duration{
	"classify": 2 * time.Minute,
	"check":    5 * time.Minute,
	"flags":    2 * time.Minute, // each subcommand; --wait adds --wait-timeout
	"parity":   5 * time.Minute,
	"ecs":      2 * time.Minute,
	"cutover":  5 * time.Minute,
	"init":     10 * time.Minute, // reads every app of an account
}

// unbounded are the commands without a whole-command deadline: they make no
// call, or bound each app themselves (timeoutFlag in run.go).
var unbounded = map[string]string{
	"version":    "makes no call",
	"completion": "makes no call",
	"plan":       "bounds each app (--timeout)",
	"import":     "bounds each app's reads (--timeout)",
	"drift":      "bounds each app (--timeout)",
	"watch":      "runs until stopped; bounds each app (--timeout)",
}

// bounded gives every command in commandTimeouts (and its subcommands) a
// --timeout flag (env ENVSYNC_TIMEOUT) and runs its action under that
// deadline, applied to the context that comes from main.
func bounded(cmds []*cli.Command) []*cli.Command {
	for _, cmd := range cmds {
		d, ok := commandTimeouts[cmd.Name]
		if !ok {
			continue
		}
		for _, leaf := range leaves(cmd) {
			if hasFlag(leaf, "timeout") || leaf.Action == nil {
				continue
			}
			leaf.Flags = append(leaf.Flags, &cli.DurationFlag{Name: "timeout", Value: d, EnvVars: []string{"ENVSYNC_TIMEOUT"},
				Usage: "give up after this long (every call and retry shares the deadline)"})
			leaf.Action = withDeadline(leaf.Action)
		}
	}
	return cmds
}

func leaves(cmd *cli.Command) []*cli.Command {
	if len(cmd.Subcommands) == 0 {
		return []*cli.Command{cmd}
	}
	var out []*cli.Command
	for _, sub := range cmd.Subcommands {
		out = append(out, leaves(sub)...)
	}
	return out
}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

func withDeadline(action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		d := c.Duration("timeout")
		if d <= 0 {
			return action(c)
		}
		if c.Bool("wait") { // flags … --restart --wait follows the deployment too
			d += c.Duration("wait-timeout")
		}
		parent := c.Context
		ctx, cancel := context.WithTimeout(parent, d)
		defer cancel()
		c.Context = ctx
		err := action(c)
		c.Context = parent
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
			return envsync.WithHint(fmt.Errorf("gave up after %s (--timeout): %w", d, err),
				"a store did not answer in time; check the network and endpoints, or raise --timeout / ENVSYNC_TIMEOUT; every write is conditional, so running the command again is safe")
		}
		return err
	}
}

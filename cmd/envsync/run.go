package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
)

// The flags every command over many apps shares (drift, plan, import).
func parallelFlag() cli.Flag {
	return &cli.IntFlag{Name: "parallel", Aliases: []string{"p"}, Value: 8, EnvVars: []string{"ENVSYNC_PARALLEL"}, Usage: "work on this many apps at once"}
}

func timeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "timeout", Value: time.Minute, EnvVars: []string{"ENVSYNC_TIMEOUT"}, Usage: "give up on an app after this long (it counts as an error)"}
}

// newHerokuBudget makes the run's Heroku rate-limit budget; tests replace
// it to match a test server whose clock runs faster.
var newHerokuBudget = envsync.NewHerokuBudget

// runOptions reads --parallel and --timeout, gives opts the run's Heroku
// budget (its share of the account's, with --shard K/N), and shows progress
// on a terminal as "envsync: VERB n/total apps".
func runOptions(c *cli.Context, opts *envsync.OpenOptions, verb string, apps int) envsync.RunOptions {
	shards := 1
	if _, n, err := parseShard(c.String("shard")); err == nil {
		shards = n
	}
	if opts.RateLimit == nil {
		opts.RateLimit = newHerokuBudget(shards)
	}
	o := envsync.RunOptions{Parallel: c.Int("parallel"), Timeout: c.Duration("timeout")}
	if o.Parallel < 1 {
		o.Parallel = 8
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if errw := c.App.ErrWriter; isTerminal(errw) && apps > 1 {
		o.Progress = func(done, total int) {
			progressf(errw, true, "envsync: %s %d/%d apps", verb, done, total)
			if done == total {
				progressf(errw, true, "")
			}
		}
	}
	return o
}

// reportRateLimit says, when the run talked to Heroku, how many of the
// account's request tokens it used and how many are left.
func reportRateLimit(c *cli.Context, b *envsync.RateBudget) {
	if s := rateLimitText(b); s != "" {
		infof(c.App.ErrWriter, "heroku rate limit: %s", s)
	}
}

// rateLimitText says what a run spent of the account's Heroku budget, or ""
// when it did not talk to Heroku: one sentence for stderr and reports.
func rateLimitText(b *envsync.RateBudget) string {
	if b == nil || b.Used() == 0 {
		return ""
	}
	left := "unknown"
	if n := b.Left(); n >= 0 {
		left = fmt.Sprint(n)
	}
	return fmt.Sprintf("this run used %d request token(s); %s left in the account's bucket", b.Used(), left)
}

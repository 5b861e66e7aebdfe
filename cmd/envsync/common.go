package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/classify"
	"github.com/envsync/envsync/rules"
)

func appFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "app", Aliases: []string{"a"}, EnvVars: []string{"ENVSYNC_APP"}, Usage: "the app(s) from the config to work on (repeat or comma-separate; default all)"}
}

func rulesFlag() cli.Flag {
	return &cli.StringFlag{Name: "rules", EnvVars: []string{"ENVSYNC_RULES"}, Usage: "a rule file applied before the built-in rules (overrides the config's rules:)"}
}

// loadConfig reads --config. When optional is true and the file is missing
// (and --config was not given explicitly), it returns nil and no error.
func loadConfig(c *cli.Context, optional bool) (*envsync.Config, error) {
	path := c.String("config")
	cfg, err := envsync.LoadConfig(path)
	if err != nil && optional && errors.Is(err, envsync.ErrNotFound) && !c.IsSet("config") {
		return nil, nil
	}
	return cfg, err
}

// loadApps reads --config and returns the apps --app picked (default all).
func loadApps(c *cli.Context) (*envsync.Config, []*envsync.App, error) {
	cfg, err := loadConfig(c, false)
	if err != nil {
		return nil, nil, err
	}
	apps, err := cfg.Select(c.StringSlice("app"))
	return cfg, apps, err
}

// loadClassifier builds the classifier from --rules, else the config's
// rules:, followed by the built-in rules.
func loadClassifier(c *cli.Context, cfg *envsync.Config) (*classify.Classifier, error) {
	path := c.String("rules")
	if path == "" && cfg != nil {
		path = cfg.Rules
	}
	if path == "" {
		return classify.New(nil), nil
	}
	user, err := rules.Load(path)
	if err != nil {
		return nil, err
	}
	return classify.New(user), nil
}

// openOptions returns the options every store is opened with; API calls are
// counted and logged with --verbose.
func openOptions() (envsync.OpenOptions, *envsync.CallCounter) {
	counter := benchCounter
	if counter == nil {
		counter = &envsync.CallCounter{}
	}
	return envsync.OpenOptions{HTTPClient: counter.Client()}, counter
}

func logCalls(c *cli.Context, counter *envsync.CallCounter) {
	logger(c).Debug("api calls", "reads", counter.Reads(), "writes", counter.Writes(), "by_operation", counter.Calls())
}

// benchCounter, when set (by benchmarks), counts every command's calls.
var benchCounter *envsync.CallCounter

// actor says who is making a change: GITHUB_ACTOR, else git's user.email,
// else $USER.
func actor() string {
	if a := os.Getenv("GITHUB_ACTOR"); a != "" {
		return a
	}
	if out, err := exec.Command("git", "config", "user.email").Output(); err == nil {
		if s := strings.TrimSpace(string(out)); s != "" {
			return s
		}
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// isTerminal reports whether r is a terminal. /dev/null is a character
// device but not a terminal: ask the terminal driver (golang.org/x/term).
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

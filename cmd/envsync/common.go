package main

import (
	"errors"
	"log/slog"
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

// oneAppFlag is --app for a command that works on exactly one app.
func oneAppFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "app", Aliases: []string{"a"}, EnvVars: []string{"ENVSYNC_APP"}, Usage: "the app from the config to work on (required when the config has more than one)"}
}

func rulesFlag() cli.Flag {
	return &cli.StringFlag{Name: "rules", EnvVars: []string{"ENVSYNC_RULES"}, Usage: "a rule file applied before the built-in rules (overrides the config's rules:)"}
}

// setup is what every command starts from: the config (nil when it is
// optional and missing), the apps --app picked, the classifier, the options
// every store is opened with and the counter of their API calls. It is
// built once, by newSetup, at the top of each action.
type setup struct {
	cfg   *envsync.Config
	apps  []*envsync.App
	cl    *classify.Classifier
	opts  envsync.OpenOptions // BaseDir is the config's folder
	calls *envsync.CallCounter
	log   *slog.Logger
}

// newSetup reads --config, --app and --rules. With optionalConfig, a
// missing default config is not an error (cfg is then nil).
func newSetup(c *cli.Context, optionalConfig bool) (*setup, error) {
	path := c.String("config")
	cfg, err := envsync.LoadConfig(path)
	if err != nil && optionalConfig && errors.Is(err, envsync.ErrNotFound) && !c.IsSet("config") {
		cfg, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &setup{cfg: cfg, log: logger(c)}
	if cfg != nil {
		if s.apps, err = cfg.Select(c.StringSlice("app")); err != nil {
			return nil, err
		}
	}
	if s.cl, err = loadClassifier(c.String("rules"), cfg); err != nil {
		return nil, err
	}
	s.calls = benchCounter
	if s.calls == nil {
		s.calls = &envsync.CallCounter{}
	}
	s.opts = envsync.OpenOptions{HTTPClient: s.calls.Client()}
	if cfg != nil {
		s.opts.BaseDir = cfg.Dir
	}
	return s, nil
}

// oneApp returns the one app picked, or a usage error listing them.
func (s *setup) oneApp(orElse string) (*envsync.App, error) {
	if len(s.apps) != 1 {
		return nil, usageError("the config has %d apps; pick one with --app (%s)%s", len(s.apps), strings.Join(s.cfg.AppNames(), ", "), orElse)
	}
	return s.apps[0], nil
}

// engine is the sync engine for this run.
func (s *setup) engine(prune bool) *envsync.Engine {
	return &envsync.Engine{Classifier: s.cl, Open: s.opts, Prune: prune, Logger: s.log}
}

// logCalls logs the run's API calls (with --verbose).
func (s *setup) logCalls() {
	s.log.Debug("api calls", "reads", s.calls.Reads(), "writes", s.calls.Writes(), "by_operation", s.calls.Calls())
}

// loadClassifier builds the classifier from path (--rules), else the
// config's rules:, followed by the built-in rules.
func loadClassifier(path string, cfg *envsync.Config) (*classify.Classifier, error) {
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

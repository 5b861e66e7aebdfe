package main

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestNormalizeArgs(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	shapeCommands(app)
	for _, tc := range []struct{ in, want string }{
		{"envsync plan", "envsync plan"},
		{"envsync plan --config x.yaml", "envsync --config x.yaml plan"},
		{"envsync plan -c x.yaml --app web --verbose", "envsync -c x.yaml --verbose plan --app web"},
		{"envsync --verbose plan --config=x.yaml", "envsync --verbose --config=x.yaml plan"},
		{"envsync flags set A=1 --restart -c x.yaml --reason why", "envsync -c x.yaml flags set --restart --reason why -- A=1"},
		{"envsync flags -c x.yaml get A", "envsync -c x.yaml flags get -- A"},
		{"envsync flags unset A -- -B --config", "envsync flags unset -- A -B --config"},
		{"envsync help plan --config x", "envsync help plan --config x"},
		{"envsync plan --generate-bash-completion", "envsync plan --generate-bash-completion"},
	} {
		got, err := normalizeArgs(app, strings.Fields(tc.in))
		if err != nil || !slices.Equal(got, strings.Fields(tc.want)) {
			t.Errorf("%s\n got %q, %v\nwant %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNearest(t *testing.T) {
	cmds := []string{"classify", "plan", "import", "drift", "watch", "flags", "check", "version", "completion"}
	for word, want := range map[string]string{"plann": "plan", "imprt": "import", "drfit": "drift", "ver": "version", "frobnicate": "", "x": ""} {
		if got := nearest(word, cmds); got != want {
			t.Errorf("nearest(%q) = %q; want %q", word, got, want)
		}
	}
}

// Every flag can come from the environment (for CI and containers), except
// the ones listed here, each with its reason.
func TestFlagsHaveEnvVars(t *testing.T) {
	typed := map[string]string{
		"classify --explain":            "a way of reading the output, asked for at the terminal",
		"flags set --heroku":            "a write to a live Heroku app is asked for each time",
		"flags unset --heroku":          "a write to a live Heroku app is asked for each time",
		"flags rollback --to":           "a version id belongs to one invocation",
		"flags apply --from":            "a path for one invocation (ENVSYNC_FROM is classify's source)",
		"flags history --limit":         "a way of reading the output",
		"init --force":                  "replacing a config file is asked for each time",
		"plan --overwrite-flags":        "reverting flag changes is asked for each time, never for a whole environment",
		"import --overwrite-flags":      "reverting flag changes is asked for each time, never for a whole environment",
		"flags apply --overwrite-flags": "reverting flag changes is asked for each time, never for a whole environment",
		"flags set --no-heroku":         "which platforms a flag change writes is decided for each change",
		"flags unset --no-heroku":       "which platforms a flag change writes is decided for each change",
		"cutover --undo":                "the direction of a cutover is asked for each time",
	}
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	var walk func(prefix string, cmds []*cli.Command)
	check := func(where string, flags []cli.Flag) {
		for _, f := range flags {
			name := strings.TrimSpace(where + " --" + f.Names()[0])
			env, ok := f.(interface{ GetEnvVars() []string })
			if ok && len(env.GetEnvVars()) > 0 {
				continue
			}
			if _, listed := typed[name]; !listed {
				t.Errorf("%s has no environment variable (add ENVSYNC_…, or list it here with the reason)", name)
			}
		}
	}
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			check(prefix+c.Name, c.Flags)
			walk(prefix+c.Name+" ", c.Subcommands)
		}
	}
	check("", app.Flags)
	walk("", app.Commands)
}

// A flag the command defines is the command's, even when a global flag has
// the same name; value flags take their value with them.
func TestNormalizeArgsLeafWins(t *testing.T) {
	app := &cli.App{
		Flags: []cli.Flag{&cli.StringFlag{Name: "format"}, &cli.BoolFlag{Name: "debug"}},
		Commands: []*cli.Command{{Name: "report", Flags: []cli.Flag{&cli.StringFlag{Name: "format"}}},
			{Name: "group", Flags: []cli.Flag{&cli.StringFlag{Name: "region"}}, Subcommands: []*cli.Command{{Name: "leaf"}}}},
	}
	for _, tc := range []struct{ in, want string }{
		{"x report A --format json --debug", "x --debug report --format json -- A"},
		{"x --format json report", "x --format json report"},
		{"x group leaf --region eu --debug B", "x --debug group --region eu leaf -- B"},
	} {
		got, err := normalizeArgs(app, strings.Fields(tc.in))
		if err != nil || !slices.Equal(got, strings.Fields(tc.want)) {
			t.Errorf("%s\n got %q, %v\nwant %q", tc.in, got, err, tc.want)
		}
	}
	// A value flag at the end with no value is an error, not the next word's.
	if got, err := normalizeArgs(app, strings.Fields("x group leaf --region")); err == nil {
		t.Errorf("--region without a value: got %q, no error", got)
	}
}

// Every command that reaches a store has a deadline: a whole-command
// --timeout (deadline.go) or a per-app one, so an endpoint that never
// answers costs one --timeout, not attempts × the SDK's wait.
func TestEveryCommandBounded(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	for _, cmd := range app.Commands {
		if _, ok := unbounded[cmd.Name]; ok || cmd.Name == "help" {
			continue
		}
		if _, ok := commandTimeouts[cmd.Name]; !ok {
			t.Errorf("%s has no deadline: add it to commandTimeouts (or to unbounded, with the reason)", cmd.Name)
			continue
		}
		for _, leaf := range leaves(cmd) {
			if leaf.Action != nil && !hasFlag(leaf, "timeout") {
				t.Errorf("%s %s has no --timeout", cmd.Name, leaf.Name)
			}
		}
	}
	for name := range unbounded {
		if name == "version" || name == "completion" || name == "watch" {
			continue
		}
		for _, cmd := range app.Commands {
			if cmd.Name == name && !hasFlag(cmd, "timeout") {
				t.Errorf("%s bounds each app but has no --timeout", name)
			}
		}
	}
}

package main

// The command line, as people type it: global flags anywhere, a command's
// flags before or after its arguments, "--" to end the flags, an unknown
// command answered with the nearest one, and stray arguments refused.
// Everything here is driven by the command tree (each command's Flags,
// Subcommands and ArgsUsage), so a new command gets the same behaviour by
// declaring itself.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
)

// completionFlag is the flag urfave/cli's shell completion appends last.
const completionFlag = "--generate-bash-completion"

// normalizeArgs rewrites args into the order urfave/cli parses: global flags
// (from anywhere on the line) first, then each command name followed by its
// own flags, then "--" and the arguments. urfave/cli alone only accepts a
// flag before the command it belongs to and before the first argument.
// A flag the leaf command defines belongs to it even when a global flag has
// the same name. An unknown command is an error naming the nearest one.
func normalizeArgs(app *cli.App, args []string) ([]string, error) {
	if len(args) < 2 || args[len(args)-1] == completionFlag {
		return args, nil // shell completion reads os.Args as typed
	}
	// --version/-v is not moved: "envsync plan -v" is an unknown flag, not
	// a silent version print instead of the plan.
	globals := app.Flags

	type level struct {
		cmd   *cli.Command // nil: the app itself
		flags []string
	}
	path := []*level{{}}
	var globalArgs, pos []string
	subcommands := app.Commands
	for i := 1; i < len(args); i++ {
		a, cur := args[i], path[len(path)-1]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			// Which level defines it: the deepest command, the app, then the
			// commands in between; an unknown flag stays with the deepest
			// command, which reports it.
			owner, ownerFlags := cur, []cli.Flag(nil)
			if cur.cmd != nil {
				ownerFlags = cur.cmd.Flags
			}
			if !definesFlag(ownerFlags, a) {
				if definesFlag(globals, a) {
					owner, ownerFlags = nil, globals
				} else {
					for j := len(path) - 2; j >= 1; j-- {
						if definesFlag(path[j].cmd.Flags, a) {
							owner, ownerFlags = path[j], path[j].cmd.Flags
							break
						}
					}
				}
			}
			taken := []string{a}
			if takesValue(ownerFlags, a) && !strings.Contains(a, "=") {
				if i+1 == len(args) {
					return nil, usageError("flag %s needs a value", a)
				}
				taken = append(taken, args[i+1])
				i++
			}
			if owner == nil {
				globalArgs = append(globalArgs, taken...)
			} else {
				owner.flags = append(owner.flags, taken...)
			}
		case len(subcommands) > 0 && len(pos) == 0:
			next := findCommand(subcommands, a)
			if next == nil {
				if cur.cmd == nil && (a == "help" || a == "h") {
					// urfave/cli's own help command: pass the rest as typed,
					// after checking the topic.
					if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && findCommand(app.Commands, args[i+1]) == nil {
						return nil, unknownCommand(app, nil, app.Commands, args[i+1])
					}
					return append(append([]string{args[0]}, globalArgs...), args[i:]...), nil
				}
				return nil, unknownCommand(app, path[len(path)-1].cmd, subcommands, a)
			}
			path = append(path, &level{cmd: next})
			subcommands = next.Subcommands
		default:
			pos = append(pos, a)
		}
	}
	out := append([]string{args[0]}, globalArgs...)
	for _, l := range path {
		if l.cmd != nil {
			out = append(out, l.cmd.Name)
		}
		out = append(out, l.flags...)
	}
	if len(pos) > 0 {
		out = append(append(out, "--"), pos...)
	}
	return out, nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// definesFlag reports whether the flag named by arg (-x, --name, --name=v) is in flags.
func definesFlag(flags []cli.Flag, arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

// takesValue reports whether the flag named by arg (-x, --name) needs a value.
func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			_, isBool := f.(*cli.BoolFlag)
			return !isBool
		}
	}
	return false
}

// unknownCommand says a word is not a command, with the nearest one.
func unknownCommand(app *cli.App, parent *cli.Command, cmds []*cli.Command, word string) error {
	where, help, prefix := app.Name, app.Name+" --help", ""
	if parent != nil {
		where = app.Name + " " + parent.Name
		help, prefix = where+" --help", parent.Name+" "
	}
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	err := fmt.Errorf("unknown command %q for %s", word, where)
	if n := nearest(word, names); n != "" {
		return envsync.WithHint(err, fmt.Sprintf("did you mean %s%s? (%s lists the commands)", prefix, n, help))
	}
	return envsync.WithHint(err, help+" lists the commands")
}

// nearest returns the candidate closest to word, or "" when none is close:
// two letters (or a third of the word) differ, or word is a prefix of
// exactly one candidate.
func nearest(word string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := levenshtein.Distance(strings.ToLower(word), strings.ToLower(c), nil)
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" && bestDist <= max(2, len(word)/3) && bestDist < len(word) {
		return best
	}
	var prefixed []string
	for _, c := range candidates {
		if len(word) >= 2 && strings.HasPrefix(c, word) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	return ""
}

// shapeCommands applies the command-line rules to every command in the tree:
// no "help" subcommand listed under a command (--help is there), no
// "(default: false)" after a switch's usage, usage errors in envsync's voice,
// and stray arguments refused by commands that declare none (an empty
// ArgsUsage).
func shapeCommands(app *cli.App) {
	app.OnUsageError = onUsageError
	hideBoolDefaults(app.Flags)
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, cmd := range cmds {
			cmd.HideHelpCommand = true
			cmd.OnUsageError = onUsageError
			hideBoolDefaults(cmd.Flags)
			if len(cmd.Subcommands) > 0 {
				walk(cmd.Subcommands)
				continue
			}
			if strings.TrimSpace(cmd.ArgsUsage) == "" {
				refuseArgs(cmd)
			}
		}
	}
	walk(app.Commands)
}

// hideBoolDefaults drops urfave/cli's "(default: false)": a switch is off
// unless given, and usages that need to say more say it themselves.
func hideBoolDefaults(flags []cli.Flag) {
	for _, f := range flags {
		if b, ok := f.(*cli.BoolFlag); ok {
			b.DisableDefaultText = true
		}
	}
}

// onUsageError puts urfave/cli's flag errors in envsync's voice, with the
// nearest flag when one was misspelt, instead of the whole help text.
func onUsageError(c *cli.Context, err error, _ bool) error {
	where, flags := "envsync", c.App.Flags
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		where, flags = helpName(c.Command), c.Command.Flags
	}
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !ok {
		return envsync.WithHint(err, "see "+where+" --help")
	}
	dash := "--"
	if len(name) == 1 {
		dash = "-"
	}
	var names []string
	for _, f := range flags {
		names = append(names, f.Names()...)
	}
	err = fmt.Errorf("unknown flag %s%s for %s", dash, name, where)
	if n := nearest(name, names); n != "" {
		dash = "--"
		if len(n) == 1 {
			dash = "-"
		}
		return envsync.WithHint(err, fmt.Sprintf("did you mean %s%s? (see %s --help)", dash, n, where))
	}
	return envsync.WithHint(err, "see "+where+" --help")
}

// refuseArgs makes cmd fail on any positional argument, with a hint: the
// --app or --from flag the word was probably meant for, else the usage.
func refuseArgs(cmd *cli.Command) {
	before := cmd.Before
	cmd.Before = func(c *cli.Context) error {
		if c.NArg() > 0 {
			return strayArgs(c, cmd)
		}
		if before != nil {
			return before(c)
		}
		return nil
	}
}

func strayArgs(c *cli.Context, cmd *cli.Command) error {
	word := c.Args().First()
	name := helpName(cmd)
	err := fmt.Errorf("%s takes no arguments, got %s", name, argText(word))
	var flags []string
	for _, f := range cmd.Flags {
		flags = append(flags, f.Names()...)
	}
	if slices.Contains(flags, "app") {
		if cfg, lerr := envsync.LoadConfig(c.String("config")); lerr == nil {
			names := cfg.AppNames()
			if slices.Contains(names, word) {
				return envsync.WithHint(err, fmt.Sprintf("did you mean --app %s?", word))
			}
			if n := nearest(word, names); n != "" {
				return envsync.WithHint(err, fmt.Sprintf("did you mean --app %s?", n))
			}
		}
	}
	if slices.Contains(flags, "from") && (envsync.IsStoreURL(word) || strings.ContainsAny(word, "./")) {
		return envsync.WithHint(err, fmt.Sprintf("did you mean --from %s?", word))
	}
	if strings.HasPrefix(word, "-") {
		return envsync.WithHint(err, "after -- every word is an argument; put the flags before --")
	}
	return envsync.WithHint(err, "it takes flags only (see "+name+" --help)")
}

// helpName is the command as typed: "envsync flags set".
func helpName(cmd *cli.Command) string {
	if cmd.HelpName != "" {
		return cmd.HelpName
	}
	return "envsync " + cmd.Name
}

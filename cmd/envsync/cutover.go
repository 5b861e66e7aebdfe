package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
)

func cutoverCommand() *cli.Command {
	return &cli.Command{
		Name:  "cutover",
		Usage: "make an app's AWS stores its truth (phase: cutover in the config) once they match the source; --undo goes back",
		Description: `Before: the stores must match the source — a plan with no changes (flags
changed with envsync flags and held are reported: their S3 value stays the
truth). Then it sets phase: cutover for the app in the config file, keeping
its comments and layout, and prints the line it changed. From then on import
and plan refuse the app, drift compares the flags_file with the S3 env file,
and flags set writes only S3.

--undo sets phase: migrating again: the source is the truth once more
(flag changes made since the cutover are held by import, never reverted
silently). Commit the config change like any other.

Asks before writing unless --yes; refuses without --yes when not on a terminal.`,
		Flags: []cli.Flag{oneAppFlag(), rulesFlag(),
			&cli.BoolFlag{Name: "undo", Usage: "go back: set phase: migrating (the source is the truth again)"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, EnvVars: []string{"ENVSYNC_YES"}, Usage: "write the config without asking"},
		},
		Action: runCutover,
	}
}

func runCutover(c *cli.Context) error {
	undo, yes := c.Bool("undo"), c.Bool("yes")
	s, err := newSetup(c, false)
	if err != nil {
		return err
	}
	defer s.logCalls()
	app, err := s.oneApp("")
	if err != nil {
		return err
	}
	errw := c.App.ErrWriter
	want := envsync.PhaseCutover
	if undo {
		want = envsync.PhaseMigrating
	}
	data, err := os.ReadFile(s.cfg.Path)
	if err != nil {
		return err
	}
	edit, err := envsync.SetPhase(s.cfg.Path, data, app.Name, want)
	if err != nil {
		return err
	}
	if !edit.Changed {
		infof(errw, "%s is already %s in %s; nothing written", app.Name, want, s.cfg.Path)
		return nil
	}
	// What the other side of the switch sees, before anything is written.
	back := *app
	back.Phase = envsync.PhaseMigrating
	p, err := s.engine(false).Plan(c.Context, s.cfg, &back)
	switch {
	case err != nil && undo:
		warnf(errw, "cannot compare the stores with %s: %v", app.Source, err)
	case err != nil:
		return fmt.Errorf("checking that the stores match %s before the cutover: %w", app.Source, err)
	default:
		if err := p.Validate(); err != nil && !undo {
			return err
		}
		writePlanText(errw, p)
		if p.HasChanges() && !undo {
			return envsync.WithHint(fmt.Errorf("%s: the stores do not match %s (%d change(s), listed above); nothing written", app.Name, app.Source, len(p.Changes)),
				"run envsync import --app "+app.Name+" first, then envsync cutover again")
		}
		switch {
		case undo && (p.HasChanges() || len(p.Held) > 0):
			infof(errw, "%s becomes the truth again: import writes the changes above; flag changes made with envsync flags are held, not reverted", app.Source)
		case len(p.Held) > 0:
			infof(errw, "%d flag change(s) made with envsync flags differ from %s: their S3 value stays the truth after the cutover", len(p.Held), app.Source)
		}
	}
	printPhaseEdit(c, s.cfg.Path, edit)
	question := fmt.Sprintf("Cut %s over (its stores become the truth)?", app.Name)
	if undo {
		question = fmt.Sprintf("Make %s the truth for %s again?", app.Source, app.Name)
	}
	if err := confirm(c.App.Reader, errw, yes, "change the phase", question, "review the change above, then add --yes"); err != nil {
		return err
	}
	if err := envsync.WriteFileAtomic(s.cfg.Path, edit.Data); err != nil {
		return err
	}
	if undo {
		infof(errw, "%s is migrating again: import and drift compare its stores with %s", app.Name, app.Source)
	} else {
		check := "drift compares the flags_file with the S3 env file"
		if app.FlagsFile == "" {
			check = "drift reports hand edits of the S3 env file (add flags_file: to review it in git)"
		}
		infof(errw, "%s is cut over: import is refused, %s, flags set writes only S3", app.Name, check)
		hintf(errw, "commit %s; envsync cutover --app %s --undo goes back", s.cfg.Path, app.Name)
	}
	return nil
}

// printPhaseEdit prints the config change on stdout, as a small diff.
func printPhaseEdit(c *cli.Context, path string, e *envsync.PhaseEdit) {
	w := c.App.Writer
	fmt.Fprintf(w, "%s:%d\n", envsync.Escape(path), e.Line)
	if e.Old != "" {
		fmt.Fprintf(w, "- %s\n", envsync.Escape(e.Old))
	}
	fmt.Fprintf(w, "+ %s\n", envsync.Escape(e.New))
}

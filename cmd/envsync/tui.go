package main

// All user-facing text that is not data goes through this file:
// "envsync: error: …", "envsync: warning: …" and "envsync: hint: …" on stderr.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
)

// exitCodeError makes run() exit with code without printing anything more:
// the command has already printed its report.
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

func exitCode(code int) error {
	if code == exitOK {
		return nil
	}
	return &exitCodeError{code: code}
}

func printError(w io.Writer, err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok { // one error per app (plan, import)
		for _, e := range j.Unwrap() {
			printError(w, e)
		}
		return
	}
	msg := strings.TrimSuffix(err.Error(), ".")
	fmt.Fprintf(w, "envsync: error: %s\n", msg)
	if h := envsync.Hint(err); h != "" {
		fmt.Fprintf(w, "envsync: hint: %s\n", h)
	}
}

func warnf(c *cli.Context, format string, args ...any) {
	fmt.Fprintf(c.App.ErrWriter, "envsync: warning: "+format+"\n", args...)
}

func hintf(c *cli.Context, format string, args ...any) {
	fmt.Fprintf(c.App.ErrWriter, "envsync: hint: "+format+"\n", args...)
}

// usageError is a mistake on the command line.
func usageError(format string, args ...any) error {
	return envsync.WithHint(fmt.Errorf(format, args...), "run envsync --help for usage")
}

func setupLogging(c *cli.Context) error {
	level := slog.LevelWarn
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
	c.App.Metadata = map[string]any{"logger": logger}
	return nil
}

func logger(c *cli.Context) *slog.Logger {
	if l, ok := c.App.Metadata["logger"].(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// Output formats.
const (
	formatText     = "text"
	formatJSON     = "json"
	formatMarkdown = "markdown"
)

func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Aliases: []string{"o"}, Value: formatText, EnvVars: []string{"ENVSYNC_FORMAT"}, Usage: "output format: text, json or markdown"}
}

func outputFormat(c *cli.Context) (string, error) {
	switch f := c.String("format"); f {
	case formatText, formatJSON, formatMarkdown:
		return f, nil
	case "md":
		return formatMarkdown, nil
	default:
		return "", usageError("--format %q: want text, json or markdown", f)
	}
}

var errNotYet = errors.New("not implemented yet")

// confirm asks the person at the terminal to type "yes" unless --yes was
// given; without a terminal it refuses, saying what to do.
func confirm(c *cli.Context, action, question, hint string) error {
	if c.Bool("yes") {
		return nil
	}
	if !isTerminal(c.App.Reader) {
		return envsync.WithHint(fmt.Errorf("refusing to %s without --yes: stdin is not a terminal", action), hint)
	}
	fmt.Fprintf(c.App.ErrWriter, "%s Only 'yes' is accepted: ", question)
	line, _ := bufio.NewReader(c.App.Reader).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return fmt.Errorf("%s cancelled; nothing was written", action)
	}
	return nil
}

// writeJSON prints one indented JSON document: the --format json output.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

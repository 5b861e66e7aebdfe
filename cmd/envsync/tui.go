package main

// All user-facing text that is not data goes through this file:
// "envsync: error: …", "envsync: warning: …" and "envsync: hint: …" on stderr.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/classify"
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
	fmt.Fprintf(w, "envsync: error: %s\n", escapeLines(msg))
	if h := envsync.Hint(err); h != "" {
		fmt.Fprintf(w, "envsync: hint: %s\n", escapeLines(h))
	}
}

// escapeLines applies the display rule's escaping to each line of a
// message, so a key or a file name cannot send control characters to the
// terminal; the message's own line breaks stay.
func escapeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = envsync.Escape(l)
	}
	return strings.Join(lines, "\n")
}

// argText shows a word typed on the command line inside a message: quoted
// and escaped, or, when it looks like a credential (a token pasted where a
// key or an app name goes), masked by the display rule like any secret.
func argText(word string) string {
	if _, _, ok := classify.DetectValue(word); ok {
		return envsync.Show("", word, true)
	}
	return strconv.Quote(word)
}

// infof says what happened: "envsync: …".
func infof(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "envsync: %s\n", escapeLines(fmt.Sprintf(format, args...)))
}

func warnf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "envsync: warning: %s\n", escapeLines(fmt.Sprintf(format, args...)))
}

func hintf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "envsync: hint: %s\n", escapeLines(fmt.Sprintf(format, args...)))
}

// progressf shows progress: rewritten in place on a terminal, one line
// each otherwise. An empty message on a terminal clears the line.
func progressf(w io.Writer, tty bool, format string, args ...any) {
	msg := escapeLines(fmt.Sprintf(format, args...))
	switch {
	case tty:
		fmt.Fprintf(w, "\r\033[K%s", msg)
	case msg != "":
		fmt.Fprintln(w, msg)
	}
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

func outputFormat(f string) (string, error) {
	switch f {
	case formatText, formatJSON, formatMarkdown:
		return f, nil
	case "md":
		return formatMarkdown, nil
	default:
		return "", usageError("--format %q: want text, json or markdown", f)
	}
}

// confirm asks the person at the terminal to type "yes" unless --yes was
// given; without a terminal it refuses, saying what to do.
func confirm(in io.Reader, errw io.Writer, yes bool, action, question, hint string) error {
	if yes {
		return nil
	}
	if !isTerminal(in) {
		return envsync.WithHint(fmt.Errorf("refusing to %s without --yes: stdin is not a terminal", action), hint)
	}
	fmt.Fprintf(errw, "%s Only 'yes' is accepted: ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
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

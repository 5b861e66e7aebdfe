package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/envsync/envsync"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, the commit it was built from, and the Go version",
		Description: `The release (set at build time, e.g. by make build from git describe), the
commit and its time when the binary was built from a git checkout, the
module version (what go install …@VERSION fetched), the Go version and the
platform. Bug reports want all of it.`,
		Flags:  []cli.Flag{formatFlag()},
		Action: runVersion,
	}
}

// buildInfo is the version command's JSON document.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Time     string `json:"commit_time,omitempty"`
	Modified bool   `json:"modified"`
	Module   string `json:"module_version"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: envsync.Version, Commit: "unknown", Module: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Module = bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func runVersion(c *cli.Context) error {
	format, err := outputFormat(c.String("format"))
	if err != nil {
		return err
	}
	b := readBuildInfo()
	w := c.App.Writer
	switch format {
	case formatJSON:
		return writeJSON(w, b)
	case formatMarkdown:
		fmt.Fprintf(w, "| | |\n|---|---|\n| version | %s |\n| commit | %s |\n| module | %s |\n| go | %s |\n| platform | %s |\n",
			mdEscape(b.Version), mdEscape(commitText(b)), mdEscape(b.Module), b.Go, b.Platform)
	default:
		fmt.Fprintf(w, "envsync %s\ncommit:   %s\nmodule:   %s\ngo:       %s\nplatform: %s\n", b.Version, commitText(b), b.Module, b.Go, b.Platform)
	}
	return nil
}

func commitText(b buildInfo) string {
	s := b.Commit
	if b.Time != "" {
		s += " (" + b.Time + ")"
	}
	if b.Modified {
		s += ", with uncommitted changes"
	}
	return s
}

package envsync

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Phase says, for every class of an app, where the truth is.
type Phase string

// The two phases of a migration.
const (
	// PhaseMigrating (the default): the source (Heroku, an export) is the
	// truth; import and drift compare the stores with it.
	PhaseMigrating Phase = "migrating"
	// PhaseCutover: the source is off and the stores are the truth: features
	// in the S3 env file (reviewed in git as the app's flags_file),
	// static/dynamic in tfvars, secrets in Secrets Manager.
	PhaseCutover Phase = "cutover"
)

// ErrCutOver is returned by commands that read the source as the truth
// (plan, import) for an app that is cut over.
var ErrCutOver = errors.New("is cut over")

// ParsePhase returns the phase named s.
func ParsePhase(s string) (Phase, error) {
	switch Phase(s) {
	case PhaseMigrating, PhaseCutover:
		return Phase(s), nil
	}
	return "", fmt.Errorf("%w: phase %q (want migrating or cutover)", ErrInvalid, s)
}

// CutOver reports whether the app's stores are the truth.
func (a *App) CutOver() bool { return a.Phase == PhaseCutover }

// refuseCutOver is the error plan and import return for a cut-over app.
func refuseCutOver(cfg *Config, app *App) error {
	where := cfg.Path
	if app.PhaseLine > 0 {
		where = fmt.Sprintf("%s:%d", cfg.Path, app.PhaseLine)
	}
	return WithHint(fmt.Errorf("app %q %w (phase: cutover in %s): its stores are the truth, and an import from %s would overwrite them",
		app.Name, ErrCutOver, where, app.Source),
		"change flags with envsync flags set and check the stores with envsync drift; to make the source the truth again: envsync cutover --app "+app.Name+" --undo")
}

// PhaseEdit is a change of an app's phase: config is the new file content.
type PhaseEdit struct {
	Data    []byte
	Line    int    // the line changed or inserted
	Old     string // the line before ("" when inserted)
	New     string // the line after
	Changed bool   // false when the file already says so
}

// SetPhase sets phase: of app in the config file content data (read from
// path), keeping every comment and the layout: it edits the value on the
// line where phase: is, or inserts "phase: …" after the app's source: line
// with the same indentation (first in the braces of a flow mapping such as
// the "web: {}" envsync init writes). The result is parsed again before it is
// returned, so a bad edit never reaches the file.
func SetPhase(path string, data []byte, appName string, phase Phase) (*PhaseEdit, error) {
	cfg, err := ParseConfig(path, data)
	if err != nil {
		return nil, err
	}
	i := -1
	for n, a := range cfg.Apps {
		if a.Name == appName {
			i = n
		}
	}
	if i < 0 {
		return nil, WithHint(fmt.Errorf("app %q is not in %s: %w", appName, path, ErrNotFound), "known apps: "+fmt.Sprint(cfg.AppNames()))
	}
	app := cfg.Apps[i]
	if app.Phase == phase && (app.PhaseLine > 0 || phase == PhaseMigrating) {
		return &PhaseEdit{Data: data, Line: app.PhaseLine}, nil
	}
	node, err := appNode(data, appName)
	if err != nil {
		return nil, err
	}
	flow := node.Style&yaml.FlowStyle != 0
	if node.Kind != yaml.MappingNode || len(node.Content) == 0 && !flow {
		return nil, &PosError{File: path, Line: node.Line, Err: fmt.Errorf("%w: app %q is not a mapping of its own (an alias, or empty); set phase: %s by hand", ErrInvalid, appName, phase)}
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	edit := &PhaseEdit{Changed: true}
	var keyNode, valNode, srcKey, srcVal *yaml.Node
	for n := 0; n+1 < len(node.Content); n += 2 {
		switch node.Content[n].Value {
		case "phase":
			keyNode, valNode = node.Content[n], node.Content[n+1]
		case "source":
			srcKey, srcVal = node.Content[n], node.Content[n+1]
		}
	}
	switch {
	case valNode != nil:
		line := lines[valNode.Line-1]
		start := byteOffset(line, valNode.Column)
		end := start + len(valNode.Value)
		if valNode.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			end += 2
		}
		if start < 0 || end > len(line) || valNode.Line != keyNode.Line || valNode.Kind != yaml.ScalarNode || valNode.Anchor != "" {
			return nil, &PosError{File: path, Line: valNode.Line, Err: fmt.Errorf("%w: cannot edit phase: here; set it to %s by hand", ErrInvalid, phase)}
		}
		nl := append(append(append([]byte{}, line[:start]...), phase...), line[end:]...)
		edit.Line, edit.Old, edit.New = valNode.Line, trimEOL(line), trimEOL(nl)
		lines[valNode.Line-1] = nl
	case flow:
		// {…} (envsync init writes "web: {}"): phase goes first inside the braces.
		line := lines[node.Line-1]
		at := byteOffset(line, node.Column)
		if at < 0 || at >= len(line) || line[at] != '{' {
			return nil, &PosError{File: path, Line: node.Line, Err: fmt.Errorf("%w: cannot edit app %q here; set phase: %s by hand", ErrInvalid, appName, phase)}
		}
		ins := "phase: " + string(phase)
		if len(node.Content) > 0 {
			ins += ", "
		}
		nl := append(append(append([]byte{}, line[:at+1]...), ins...), line[at+1:]...)
		edit.Line, edit.Old, edit.New = node.Line, trimEOL(line), trimEOL(nl)
		lines[node.Line-1] = nl
	default:
		// Insert after source: (a one-line scalar in every config envsync
		// writes), else before the first field.
		at, key := node.Content[0].Line-1, node.Content[0]
		if srcKey != nil && srcVal.Kind == yaml.ScalarNode && srcVal.Line == srcKey.Line && srcVal.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			at, key = srcKey.Line, srcKey
		}
		ref := lines[key.Line-1]
		indent := ref[:max(byteOffset(ref, key.Column), 0)]
		eol := "\n"
		if bytes.HasSuffix(ref, []byte("\r\n")) {
			eol = "\r\n"
		}
		nl := append(append([]byte{}, indent...), "phase: "+string(phase)+eol...)
		if at > 0 && !bytes.HasSuffix(lines[at-1], []byte("\n")) {
			lines[at-1] = append(lines[at-1], eol...)
		}
		lines = append(lines[:at], append([][]byte{nl}, lines[at:]...)...)
		edit.Line, edit.New = at+1, trimEOL(nl)
	}
	edit.Data = bytes.Join(lines, nil)
	check, err := ParseConfig(path, edit.Data)
	if err != nil {
		return nil, fmt.Errorf("setting phase: %s would break %s (nothing written): %w", phase, path, err)
	}
	for i, a := range check.Apps {
		if a.Name == appName && a.Phase != phase || a.Name != appName && a.Phase != cfg.Apps[i].Phase {
			return nil, fmt.Errorf("setting phase: %s in %s did not take, or changed another app (nothing written); set it by hand", phase, path)
		}
	}
	return edit, nil
}

// appNode finds the mapping node of app in the config content.
func appNode(data []byte, appName string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "apps" {
			continue
		}
		apps := root.Content[i+1]
		for j := 0; j+1 < len(apps.Content); j += 2 {
			if apps.Content[j].Value == appName {
				return apps.Content[j+1], nil
			}
		}
	}
	return nil, fmt.Errorf("app %q: %w", appName, ErrNotFound)
}

// byteOffset turns yaml.v3's 1-based column (in characters) into a byte
// offset in line.
func byteOffset(line []byte, col int) int {
	off := 0
	for c := 1; c < col; c++ {
		if off >= len(line) {
			return -1
		}
		_, n := utf8.DecodeRune(line[off:])
		off += n
	}
	return off
}

func trimEOL(b []byte) string { return string(bytes.TrimRight(b, "\r\n")) }

// WriteFileAtomic replaces the file at path with data: a temporary file in
// the same folder, renamed over it, so a failed write leaves the old file
// whole. The file keeps its permission bits.
func WriteFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	err = errors.Join(err, tmp.Chmod(mode), tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

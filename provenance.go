package envsync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Writer is the kind of write that last changed a key of a store, told from
// the metadata envsync keeps with each version of an S3 env file.
type Writer string

// Writers.
const (
	WriterFlags   Writer = "envsync flags"  // flags set, unset, apply or rollback
	WriterImport  Writer = "envsync import" // an import from the source
	WriterHand    Writer = "hand"           // a version without envsync metadata
	WriterUnknown Writer = ""               // not found in the versions read
)

// Metadata keys envsync keeps with each version it writes.
const (
	MetaBy      = "envsync-by"
	MetaReason  = "envsync-reason"
	MetaKeys    = "envsync-keys"
	MetaVersion = "envsync-version"
	MetaCommand = "envsync-command" // "flags set", "flags apply", "import", …
)

// ProvenanceDepth bounds how many older versions a provenance look-up
// reads: a key last changed further back is reported as unknown.
const ProvenanceDepth = 20

// Provenance says who last changed one key of a store, when and why.
type Provenance struct {
	Key     string
	Writer  Writer
	Command string // "flags set", … ("" when not recorded)
	By      string
	Reason  string
	When    time.Time
	Version string
	// Before is the key's value before that change; Had whether it was set
	// at all. BeforeKnown is false when no earlier version could be read
	// (an unversioned bucket, or the look-up's depth was reached).
	Before      string
	Had         bool
	BeforeKnown bool
	// Earlier are the flag changes of the key before this one, newest
	// first, back to the first change by another writer (an import, a hand
	// edit) or the look-up's depth; each with what it replaced. Only for a
	// change made by envsync flags.
	Earlier []*Provenance
}

// FromFlags reports whether the change was made by envsync flags.
func (p *Provenance) FromFlags() bool { return p != nil && p.Writer == WriterFlags }

// Reverts reports whether giving the key the value v (has false: removing
// it) would undo a flag change: the live value was written by envsync flags
// and v is a value the key had before those flag changes — what the latest
// one replaced or what an earlier one in the same run replaced (Earlier) —
// or what the latest replaced is not known. Writing any other value is a
// change of its own, not a revert.
func (p *Provenance) Reverts(v string, has bool) bool {
	if !p.FromFlags() {
		return false
	}
	return !p.BeforeKnown || p.Undone(v, has) != nil
}

// Undone returns the flag change back to which giving the key the value v
// (has false: removing it) would go: the newest change, of this one and
// Earlier, that replaced v (that change and every later one are undone).
// It is nil when v is none of the replaced values.
func (p *Provenance) Undone(v string, has bool) *Provenance {
	if !p.FromFlags() {
		return nil
	}
	for _, c := range append([]*Provenance{p}, p.Earlier...) {
		if c.BeforeKnown && has == c.Had && (!has || v == c.Before) {
			return c
		}
	}
	return nil
}

// RevertNote says, for a revert to a value an earlier flag change replaced
// (not the latest one), which change that was: "it also undoes 1 earlier
// flag change(s), back to the value envsync flags set by … at … ("…")
// replaced". It is "" otherwise. Never a value.
func (p *Provenance) RevertNote(v string, has bool) string {
	u := p.Undone(v, has)
	if u == nil || u == p {
		return ""
	}
	n := 0
	for _, e := range p.Earlier {
		n++
		if e == u {
			break
		}
	}
	return fmt.Sprintf("it also undoes %d earlier flag change(s), back to the value %s replaced",
		n, strings.TrimPrefix(u.String(), "changed with "))
}

// String says who changed the key, e.g. `envsync flags set by ana@example.com
// at 2026-11-24T02:00:00Z ("incident 42")`. Never a value.
func (p *Provenance) String() string {
	if p == nil || p.Writer == WriterUnknown {
		return "changed by an unknown writer (not found in the recent versions)"
	}
	var b strings.Builder
	switch {
	case p.Writer == WriterHand:
		b.WriteString("changed by hand (no envsync metadata)")
	case p.Command != "":
		b.WriteString("changed with envsync " + p.Command)
	default:
		b.WriteString("changed with " + string(p.Writer))
	}
	if p.By != "" {
		b.WriteString(" by " + p.By)
	}
	if !p.When.IsZero() {
		b.WriteString(" at " + p.When.UTC().Format(time.RFC3339))
	}
	if p.Reason != "" {
		fmt.Fprintf(&b, " (%q)", p.Reason)
	}
	return b.String()
}

// writerOf tells the writer of a version from its metadata.
func writerOf(meta map[string]string) (Writer, string) {
	cmd := meta[MetaCommand]
	switch {
	case meta[MetaBy] == "":
		return WriterHand, ""
	case strings.HasPrefix(cmd, "flags"):
		return WriterFlags, cmd
	case cmd == "import" || meta[MetaReason] == "envsync import":
		return WriterImport, "import"
	case meta[MetaKeys] != "": // written by envsync flags before envsync-command existed
		return WriterFlags, cmd
	}
	return WriterImport, cmd
}

// Provenances finds who last changed each of keys in st, whose current
// content cur was just read: it walks the store's versions newest first,
// reading one older version at a time and stopping as soon as every key is
// found — and, for a key last changed by envsync flags, the flag changes
// before it, back to another writer's change (Earlier) — at most
// ProvenanceDepth versions back. Callers ask only about keys
// that differ from the truth, so a run without drift reads nothing more.
// A store without versions answers from cur's metadata alone: a flag change
// that named the key, with what it replaced unknown.
func Provenances(ctx context.Context, st Store, cur *Snapshot, keys []string) (map[string]*Provenance, error) {
	out := map[string]*Provenance{}
	if len(keys) == 0 || cur == nil || !cur.Exists {
		return out, nil
	}
	pending := slices.Clone(keys)
	vs, ok := st.(Versioned)
	var versions []ObjectVersion
	enabled := false
	if ok {
		var err error
		if versions, enabled, err = vs.Versions(ctx); err != nil {
			return nil, err
		}
	}
	if enabled && len(versions) == 1 {
		// The only version created the object: it wrote every key it holds.
		w, cmd := writerOf(cur.Meta)
		for _, k := range pending {
			if _, has := cur.Vars[k]; has {
				out[k] = &Provenance{Key: k, Writer: w, Command: cmd, By: cur.Meta[MetaBy], Reason: cur.Meta[MetaReason],
					When: versions[0].Modified, Version: versions[0].ID, BeforeKnown: true}
			}
		}
		return out, nil
	}
	if len(versions) < 2 {
		// No history to walk: the current version's metadata names the keys a
		// flag change touched.
		w, cmd := writerOf(cur.Meta)
		named := strings.Split(cur.Meta[MetaKeys], ",")
		for _, k := range pending {
			if w == WriterFlags && slices.Contains(named, k) {
				out[k] = &Provenance{Key: k, Writer: w, Command: cmd, By: cur.Meta[MetaBy], Reason: cur.Meta[MetaReason], When: cur.Modified}
			}
		}
		return out, nil
	}
	// running are keys whose latest change was made by envsync flags: the
	// walk goes on through the flag changes before it (Earlier), until
	// another writer changed the key.
	running := map[string]*Provenance{}
	newer, newerID, newerWhen := cur, versions[0].ID, versions[0].Modified
	for i := 1; i < len(versions) && i <= ProvenanceDepth && len(pending)+len(running) > 0; i++ {
		older := EmptySnapshot()
		if !versions[i].Deleted {
			var err error
			if older, err = vs.ReadVersion(ctx, versions[i].ID); err != nil {
				return nil, err
			}
		}
		w, cmd := writerOf(newer.Meta)
		change := func(k string) *Provenance {
			ov, ohas := older.Vars[k]
			return &Provenance{Key: k, Writer: w, Command: cmd, By: newer.Meta[MetaBy], Reason: newer.Meta[MetaReason],
				When: newerWhen, Version: newerID, Before: ov, Had: ohas, BeforeKnown: true}
		}
		for k, p := range running {
			if !changed(newer, older, k) {
				continue
			}
			if w == WriterFlags {
				p.Earlier = append(p.Earlier, change(k))
			} else {
				delete(running, k)
			}
		}
		pending = slices.DeleteFunc(pending, func(k string) bool {
			if !changed(newer, older, k) {
				return false
			}
			out[k] = change(k)
			if w == WriterFlags {
				running[k] = out[k]
			}
			return true
		})
		newer, newerID, newerWhen = older, versions[i].ID, versions[i].Modified
		if i == len(versions)-1 && newer.Exists {
			// The oldest version wrote every key it holds that is still pending.
			w, cmd := writerOf(newer.Meta)
			created := func(k string) *Provenance {
				return &Provenance{Key: k, Writer: w, Command: cmd, By: newer.Meta[MetaBy], Reason: newer.Meta[MetaReason],
					When: newerWhen, Version: newerID, BeforeKnown: true}
			}
			for _, k := range pending {
				if _, has := newer.Vars[k]; has {
					out[k] = created(k)
				}
			}
			for k, p := range running {
				if _, has := newer.Vars[k]; has && w == WriterFlags {
					p.Earlier = append(p.Earlier, created(k))
				}
			}
		}
	}
	return out, nil
}

// changed reports whether the key differs between two versions.
func changed(newer, older *Snapshot, k string) bool {
	nv, nhas := newer.Vars[k]
	ov, ohas := older.Vars[k]
	return nv != ov || nhas != ohas
}

// ChangeLog is implemented by sources that know when each variable last
// changed (a Heroku app's releases). Plan asks it only about a key whose
// flag change the source's value differs from, to tell whether the source
// changed the key after the flag change (its value then wins).
type ChangeLog interface {
	// LastChanged returns when each of keys was last set or removed, as far
	// back as the log is read; a key not found is missing from the map.
	LastChanged(ctx context.Context, keys []string) (map[string]time.Time, error)
}

// sourceNewer reports whether the source changed the key after the flag
// change, with a second's margin: S3 keeps whole seconds, so a change in
// the same second is not known to be newer (and the flag change is held).
func sourceNewer(changed time.Time, p *Provenance) bool {
	return !changed.IsZero() && changed.After(p.When.Add(time.Second))
}

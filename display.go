package envsync

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The display rule. Every output of envsync — text, JSON, markdown, GitHub
// annotations and step summaries, flag history, errors — shows a value only
// through this file: Sensitive decides whether a value may be shown, Mask
// replaces one that may not with "(sensitive)" and a fingerprint, and Show
// also escapes control characters so nothing raw reaches a terminal.

// Sensitive reports whether the value of key must not be shown: the key's
// class is secret, or the classifier calls the value secret on its own — a
// credential-shaped value, or a name it files under secret — e.g. a token
// someone pasted into a feature env file. cl may be nil: then only the class
// decides.
func Sensitive(cl Classifier, class Class, key, value string) bool {
	if class == Secret {
		return true
	}
	return cl != nil && value != "" && cl.Classify(Var{Name: key, Value: value}).Class == Secret
}

// Mask returns the value as it may leave the process: for a sensitive value
// "(sensitive) sha256:…" (just "(sensitive)" when empty), else the value
// itself. JSON output uses it; the encoder escapes control characters.
func Mask(key, value string, sensitive bool) string {
	if sensitive {
		if value == "" {
			return "(sensitive)"
		}
		return "(sensitive) " + Fingerprint(key, value)
	}
	return value
}

// Show returns the value as text and markdown output print it: Mask, then
// Escape, so control characters never reach a terminal raw.
func Show(key, value string, sensitive bool) string {
	return Escape(Mask(key, value, sensitive))
}

// ShowKey returns a key as output prints it: escaped like a value. Keys are
// never secret.
func ShowKey(key string) string { return Escape(key) }

// Escape writes every character a terminal would interpret (control
// characters, other non-printables, invalid UTF-8) the way strconv.Quote
// does — \n, \t, \x1b, \u200b — and leaves everything else as it is.
func Escape(s string) string {
	if !strings.ContainsFunc(s, needsEscape) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(s[i])&0xf, 16))
		case needsEscape(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

func needsEscape(r rune) bool { return r != ' ' && !unicode.IsPrint(r) }

// ShownWidth is how many characters of a value text and markdown show in
// full; past it, ShowPair elides what two values have in common.
const ShownWidth = 48

// pairContext is how many equal characters ShowPair keeps on each side of
// the part that differs.
const pairContext = 12

// ShowPair renders both sides of a change (old → new) as text and markdown
// print them, by the display rule: sensitive values as Show renders them;
// values short enough in full; longer values with the common beginning and
// end elided ("…") around the part that differs, which is always shown whole
// with a few characters on each side. So a change is never cut away: the two
// sides shown differ exactly when the values do. A single value (an add or a
// delete) is printed whole with Show.
func ShowPair(key, old, new string, sensitive bool) (string, string) {
	if sensitive || old == new {
		return Show(key, old, sensitive), Show(key, new, sensitive)
	}
	a, b := units(old), units(new)
	if max(len(a), len(b)) <= ShownWidth {
		return Escape(old), Escape(new)
	}
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	// Keep pairContext equal characters on each side; elide only what saves
	// more than the ellipsis costs.
	from := max(pre-pairContext, 0)
	if from <= 1 {
		from = 0
	}
	cut := max(suf-pairContext, 0)
	if cut <= 1 {
		cut = 0
	}
	return elide(a, from, cut), elide(b, from, cut)
}

// units splits s into characters: each rune, or each byte of invalid UTF-8
// on its own, so that two different bytes never compare equal.
func units(s string) []string {
	u := make([]string, 0, len(s))
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		u = append(u, s[i:i+n])
		i += n
	}
	return u
}

// elide escapes u without its first from and last cut characters, marking
// each cut with "…".
func elide(u []string, from, cut int) string {
	s := Escape(strings.Join(u[from:len(u)-cut], ""))
	if from > 0 {
		s = "…" + s
	}
	if cut > 0 {
		s += "…"
	}
	return s
}

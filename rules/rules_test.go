package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/envsync/envsync"
)

func TestBuiltinParses(t *testing.T) {
	f, err := Parse("builtin.yaml", builtinYAML)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rules) < 20 {
		t.Fatalf("only %d built-in rules", len(f.Rules))
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown field", "rules:\n  - name: a\n    match: X\n    klass: feature\n", "rules.yaml:4:"},
		{"bad regex", "rules:\n  - name: a\n    match: \"/([/\"\n    class: feature\n", "rules.yaml:2: invalid: rule 1 (a): match: bad regex"},
		{"bad value regex", "rules:\n  - name: a\n    value: \"(\"\n    class: feature\n", "rules.yaml:2: invalid: rule 1 (a): value: bad regex"},
		{"unknown class", "rules:\n  - name: a\n    match: X\n    class: public\n", `rules.yaml:2: invalid: rule 1 (a): class: unknown class "public"`},
		{"no matcher", "rules:\n  - name: a\n    class: feature\n", "give at least one of match"},
		{"bad override class", "overrides:\n  X: nope\n", `rules.yaml:2: invalid: overrides: X: unknown class "nope"`},
		{"empty allow reason", "allow:\n  X: \"\"\n", "give the reason"},
		{"duplicate rule", "rules:\n  - {name: a, match: X, class: feature}\n  - {name: a, match: Y, class: feature}\n", `rule name "a" is used twice`},
		{"bad not_value regex", "rules:\n  - name: a\n    match: X\n    not_value: \"(\"\n    class: feature\n", "rules.yaml:2: invalid: rule 1 (a): not_value: bad regex"},
		{"bad confidence", "rules:\n  - {name: a, match: X, class: feature, confidence: high}\n", "confidence: want strong or weak"},
		{"word_ends two words", "rules:\n  - {name: a, word_ends: [\"API KEY\"], class: secret}\n", "word_ends: \"API KEY\" is not one word"},
		{"not yaml", "rules: [\n", "rules.yaml:"},
		{"unknown top", "rule:\n  - {name: a}\n", "rules.yaml:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("rules.yaml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want it to contain %q", err, tt.want)
			}
			var pe *envsync.PosError
			if !errors.As(err, &pe) {
				t.Fatalf("err %T is not a *envsync.PosError", err)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	f, err := Parse("r.yaml", []byte(`
rules:
  - {name: glob, match: "SLACK_*_CHANNEL", class: feature}
  - {name: words, words: ["API KEY"], class: secret}
  - {name: last, last: [TIMEOUT], value: "^[0-9]+$", class: dynamic}
  - {name: ends, word_ends: [PASSWORD], not_words: [POLICY], not_value: "^(true|false)$", class: secret, confidence: weak}
`))
	if err != nil {
		t.Fatal(err)
	}
	check := func(i int, name, value string, want bool) {
		t.Helper()
		if got := f.Rules[i].Match(name, Words(name), value); got != want {
			t.Errorf("rule %s on %s=%q: %v; want %v", f.Rules[i].Name, name, value, got, want)
		}
	}
	check(0, "slack_ops_channel", "#ops", true)
	check(0, "SLACK_CHANNELS", "#ops", false)
	check(1, "mailgunApiKey", "x", true)
	check(1, "API_KEYBOARD", "x", false)
	check(2, "HTTP_TIMEOUT", "30", true)
	check(2, "HTTP_TIMEOUT", "thirty", false)
	check(3, "PGPASSWORD", "x", true)
	check(3, "PASSWORD_POLICY", "x", false) // not_words
	check(3, "DB_PASSWORD", "true", false)  // not_value
	check(3, "PASSWORDLESS", "x", false)
	if !f.Rules[3].Weak || f.Rules[0].Weak {
		t.Error("confidence: weak not parsed, or set where not asked for")
	}
}

func TestWords(t *testing.T) {
	for name, want := range map[string]string{
		"stripeSecretKey":    "STRIPE SECRET KEY",
		"AWS_S3_BUCKET":      "AWS S3 BUCKET",
		"OAuthClientID":      "O AUTH CLIENT ID",
		"sentry.dsn":         "SENTRY DSN",
		"NEXT_PUBLIC_APP-ID": "NEXT PUBLIC APP ID",
	} {
		if got := strings.Join(Words(name), " "); got != want {
			t.Errorf("Words(%q) = %q; want %q", name, got, want)
		}
	}
}

func TestLiteralPrefixes(t *testing.T) {
	for src, want := range map[string]string{
		"^(HEROKU_(APP_ID|SLUG)|DYNO|DYNOS|ON_HEROKU)$": "HEROKU_ DYNO ON_HEROKU",
		"^(PYTHON[A-Z_]*|GO[A-Z]+)$":                    "PYTHON GO",
		"^[A-C]X$":                                      "A B C",
		"^.*_ENV$":                                      "",
		"(PASSWORD|TOKEN)":                              "", // not anchored
		"^(A|B?)$":                                      "", // may match the empty string
	} {
		if got := strings.Join(literalPrefixes(src), " "); got != want {
			t.Errorf("literalPrefixes(%q) = %q; want %q", src, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("rules:\n  - {name: a, match: X, class: feature}\noverrides:\n  B: static\nallow:\n  C: public\n"))
	f.Add(builtinYAML)
	f.Add([]byte("rules: [{name: a, words: [\"\"], class: secret}]"))
	f.Add([]byte("rules: [{name: a, word_ends: [KEY], not_words: [X], not_value: \"^1$\", class: secret, confidence: weak}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", data)
		if err == nil {
			for _, r := range file.Rules {
				r.Match("SOME_NAME", Words("SOME_NAME"), "value")
			}
		} else if !errors.Is(err, envsync.ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
	})
}

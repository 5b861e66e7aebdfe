package envsync_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/classify"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain value", "plain value"},
		{"héllo ✓ 日本", "héllo ✓ 日本"},
		{`C:\path\n`, `C:\path\n`}, // a real backslash is printable: left alone
		{"a\nb\r\tc", `a\nb\r\tc`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"bell\a nul\x00", `bell\a nul\x00`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"\u202eevil", `\u202eevil`},
	}
	for _, tt := range tests {
		if got := envsync.Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzEscape(f *testing.F) {
	f.Add("a\x1b[2Jb")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		got := envsync.Escape(s)
		if strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
			t.Fatalf("Escape(%q) = %q keeps a control character", s, got)
		}
		if envsync.Escape(got) != got {
			t.Fatalf("Escape is not idempotent on %q", s)
		}
	})
}

// The display rule hides a value by its key's class and by its own shape.
func TestSensitive(t *testing.T) {
	cl := classify.New(nil)
	tests := []struct {
		class      envsync.Class
		key, value string
		want       bool
	}{
		{envsync.Secret, "ANYTHING", "x", true},
		{envsync.Feature, "FEATURE_X", "on", false},
		{envsync.Feature, "FEATURE_X", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", true}, // shape
		{envsync.Feature, "SMTP_PASSWORD", "plainvalue", true},                   // the classifier's class of the key
		{"", "SLACK_CHANNEL", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", true},  // no class known: the classifier decides
		{envsync.Static, "RAILS_ENV", "production", false},
	}
	for _, tt := range tests {
		if got := envsync.Sensitive(cl, tt.class, tt.key, tt.value); got != tt.want {
			t.Errorf("Sensitive(%s, %s) = %v; want %v", tt.class, tt.key, got, tt.want)
		}
	}
	if got := envsync.Show("K", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", true); !strings.HasPrefix(got, "(sensitive) sha256:") || strings.Contains(got, "sk_live") {
		t.Errorf("Show of a sensitive value = %q", got)
	}
	if got := envsync.Show("K", "", true); got != "(sensitive)" {
		t.Errorf("Show of an empty sensitive value = %q", got)
	}
	if got := envsync.Show("K", "a\x1bb", false); got != `a\x1bb` {
		t.Errorf("Show = %q", got)
	}
	if got := envsync.Mask("K", "a\nb", false); got != "a\nb" {
		t.Errorf("Mask changed a shown value: %q", got)
	}
}

func TestDiff(t *testing.T) {
	old := map[string]string{"A": "1", "B": "2", "C": "3"}
	new := map[string]string{"A": "1", "B": "two", "D": "4"}
	got := envsync.Diff(old, new)
	want := []envsync.Change{
		{Key: "B", Action: envsync.Update, Old: "2", New: "two"},
		{Key: "C", Action: envsync.Delete, Old: "3"},
		{Key: "D", Action: envsync.Add, New: "4"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: got %+v; want %+v", i, got[i], want[i])
		}
	}
	if d := envsync.Diff(old, maps.Clone(old)); len(d) != 0 {
		t.Errorf("no change: got %+v", d)
	}
}

// ShowPair never hides the part of a long value that changed.
func TestShowPair(t *testing.T) {
	long := "5667123456789-abcdefghijklmnopqrstuvwxyz0123456"
	tests := []struct {
		name, old, new, wantOld, wantNew string
		sensitive                        bool
	}{
		{"short values in full", "on", "off", "on", "off", false},
		{"a change at the end of a long value", long + ".apps.googleusercontent.com", long + ".apps.googleusercontent.org",
			"…usercontent.com", "…usercontent.org", false},
		{"a change in the middle", long + "X" + long, long + "Y" + long,
			"…vwxyz0123456X566712345678…", "…vwxyz0123456Y566712345678…", false},
		{"a change at the start", "a" + long + long, "b" + long + long, "a" + long[:12] + "…", "b" + long[:12] + "…", false},
		{"different lengths", long + long, long + "-" + long, "…vwxyz0123456566712345678…", "…vwxyz0123456-566712345678…", false},
		{"control characters escaped", long + "\x1b[2J", long + "\x1b[3J", "…xyz0123456\\x1b[2J", "…xyz0123456\\x1b[3J", false},
		{"invalid bytes stay apart", long + long + "\xfe", long + long + "\xff", `…vwxyz0123456\xfe`, `…vwxyz0123456\xff`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, n := envsync.ShowPair("K", tt.old, tt.new, tt.sensitive)
			if o != tt.wantOld || n != tt.wantNew {
				t.Errorf("ShowPair = %q, %q; want %q, %q", o, n, tt.wantOld, tt.wantNew)
			}
		})
	}
	o, n := envsync.ShowPair("TOKEN", long+"a", long+"b", true)
	if !strings.HasPrefix(o, "(sensitive) sha256:") || o == n || strings.Contains(o+n, "5667") {
		t.Errorf("sensitive ShowPair = %q, %q", o, n)
	}
}

func FuzzShowPair(f *testing.F) {
	f.Add("5667-abcdefghijklmnopqrstuvwxyz0123456789.qoq.apps.com", "5667-abcdefghijklmnopqrstuvwxyz0123456789.qoq.apps.org")
	f.Fuzz(func(t *testing.T, old, new string) {
		if strings.Contains(old+new, `\`) {
			return // Escape writes a byte 0xff and the text \xff alike
		}
		o, n := envsync.ShowPair("K", old, new, false)
		if (o == n) != (old == new) {
			t.Fatalf("ShowPair(%q, %q) = %q, %q: a change must stay visible", old, new, o, n)
		}
	})
}

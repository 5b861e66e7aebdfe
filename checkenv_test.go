package envsync_test

import (
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/classify"
)

// CheckEnvChange classifies every added, changed or removed key: SEC001 for
// a credential-shaped value, SEC002 for a key the classifier calls secret,
// CLS001 for config in a feature file; a key is sensitive when either side is.
func TestCheckEnvChange(t *testing.T) {
	old := "FEATURE_A=off\nFEATURE_BANNER=ghp_abcdefghijklmnopqrstuvwxyz0123456789\nFEATURE_GONE=1\n"
	data := "FEATURE_A=on\nFEATURE_BANNER=off\nSTRIPE_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc\nSMTP_PASSWORD=plainvalue\nRAILS_ENV=production\n"
	findings, keys := envsync.CheckEnvChange("f.env", []byte(old), []byte(data), classify.New(nil))
	type want struct {
		action    envsync.Action
		line      int
		sensitive bool
		verdict   string
	}
	wants := map[string]want{
		"FEATURE_A":      {envsync.Update, 1, false, "ok"},
		"FEATURE_BANNER": {envsync.Update, 2, true, "ok"}, // the old value is a credential
		"FEATURE_GONE":   {envsync.Delete, 0, false, "removed"},
		"RAILS_ENV":      {envsync.Add, 5, false, "warning: static"},
		"SMTP_PASSWORD":  {envsync.Add, 4, true, "error: secret"},
		"STRIPE_KEY":     {envsync.Add, 3, true, "error: credential"},
	}
	if len(keys) != len(wants) {
		t.Fatalf("got %d keys: %+v", len(keys), keys)
	}
	for _, k := range keys {
		w := wants[k.Key]
		if k.Action != w.action || k.Line != w.line || k.Sensitive != w.sensitive || k.Verdict != w.verdict {
			t.Errorf("%s: got %s line %d sensitive %v %q; want %+v", k.Key, k.Action, k.Line, k.Sensitive, k.Verdict, w)
		}
	}
	var codes []string
	for _, f := range findings {
		codes = append(codes, f.Code)
		if strings.Contains(f.Message, "sk_live") || strings.Contains(f.Message, "plainvalue") || strings.Contains(f.Message, "ghp_") {
			t.Errorf("a finding shows a value: %s", f)
		}
	}
	if got := strings.Join(codes, " "); got != "SEC001 SEC002 CLS001" {
		t.Errorf("codes %q; want SEC001 SEC002 CLS001 in line order", got)
	}
}

package envsync_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/classify"
	_ "github.com/envsync/envsync/sinks/file"
)

func openTestFlags(t *testing.T, content string) (*envsync.Flags, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "feature.env")
	if content != "" {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &envsync.Config{Dir: dir}
	app := &envsync.App{Name: "web", Routes: map[envsync.Class]string{envsync.Feature: "file:feature.env"}}
	f, err := envsync.OpenFlags(t.Context(), cfg, app, classify.New(nil), envsync.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f, path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// applyReviewed is flags apply: plan the reviewed content, then write it.
func applyReviewed(t *testing.T, f *envsync.Flags, vars map[string]string, prune bool, why string) (*envsync.FlagsResult, error) {
	t.Helper()
	r, err := f.PlanReviewed(t.Context(), vars, prune, false)
	if err != nil {
		return nil, err
	}
	return f.WriteReviewed(t.Context(), r, "me", why)
}

// A reviewed file (flags apply) is refused for every key that is not a
// feature flag exactly like Edit (flags set), and nothing is written.
func TestFlagsReplaceRefusesNonFeatures(t *testing.T) {
	const before = "FEATURE_X=on\n"
	for name, vars := range map[string]map[string]string{
		"secret by shape": {"FEATURE_X": "off", "FEATURE_BANNER": "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
		"secret by name":  {"FEATURE_X": "off", "SMTP_PASSWORD": "plainvalue"},
		"static":          {"FEATURE_X": "off", "RAILS_ENV": "production"},
	} {
		t.Run(name, func(t *testing.T) {
			f, path := openTestFlags(t, before)
			_, err := applyReviewed(t, f, vars, true, "test")
			if err == nil || !strings.HasPrefix(err.Error(), "nothing written: ") {
				t.Fatalf("err = %v; want nothing written", err)
			}
			if strings.Contains(err.Error(), "sk_live") || strings.Contains(err.Error(), "plainvalue") {
				t.Fatalf("the error shows a value: %v", err)
			}
			if _, editErr := f.Edit(t.Context(), vars, nil, "me", "test"); editErr == nil || editErr.Error() != err.Error() {
				t.Errorf("Edit refused with %v; apply with %v", editErr, err)
			}
			if got := readFile(t, path); got != before {
				t.Errorf("file changed: %q", got)
			}
		})
	}
}

func TestFlagsEditAndReplace(t *testing.T) {
	f, path := openTestFlags(t, "FEATURE_A=on\nFEATURE_PASTED=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n")
	res, err := f.Edit(t.Context(), map[string]string{"FEATURE_PASTED": "off"}, []string{"FEATURE_GONE"}, "me", "why")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || len(res.Changes) != 1 || !res.Changes[0].Sensitive || res.Changes[0].Action != envsync.Update {
		t.Fatalf("got %+v; want one sensitive update", res)
	}
	if len(res.NotSet) != 1 || res.NotSet[0] != "FEATURE_GONE" {
		t.Errorf("NotSet = %v", res.NotSet)
	}
	snap, err := f.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Vars["FEATURE_PASTED"] != "off" || snap.Vars["FEATURE_A"] != "on" {
		t.Errorf("read %v", snap.Vars)
	}
	// Without prune, keys only in the file stay (like import) and are reported.
	r, err := f.PlanReviewed(t.Context(), map[string]string{"FEATURE_B": "yes"}, false, false)
	if err != nil || len(r.Changes) != 1 || len(r.Extra) != 2 || len(r.Held) != 0 {
		t.Fatalf("plan without prune: %+v, %v; want 1 change and 2 extra", r, err)
	}
	res, err = applyReviewed(t, f, map[string]string{"FEATURE_B": "yes"}, true, "why")
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "FEATURE_B=yes\n" {
		t.Errorf("file %q", got)
	}
	if len(res.Changes) != 3 {
		t.Errorf("changes %+v", res.Changes)
	}
	res, err = applyReviewed(t, f, map[string]string{"FEATURE_B": "yes"}, true, "again")
	if err != nil || res.Changed {
		t.Errorf("a second replace wrote: %+v %v", res, err)
	}
	if _, err := f.PrepareRollback(t.Context(), ""); err == nil || errors.Is(err, envsync.ErrConflict) {
		t.Errorf("rollback of a file: store: %v; want no history", err)
	}
}

// Flags.Read masks a pasted credential.
func TestFlagsReadMasks(t *testing.T) {
	f, _ := openTestFlags(t, "FEATURE_PASTED=sk_live_4eC39HqLyjWDarjtT1zdp7dc\nFEATURE_A=on\n")
	snap, err := f.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v := snap.Vars["FEATURE_PASTED"]; !strings.HasPrefix(v, "(sensitive) sha256:") {
		t.Errorf("FEATURE_PASTED read as %q", v)
	}
	if snap.Vars["FEATURE_A"] != "on" {
		t.Errorf("FEATURE_A read as %q", snap.Vars["FEATURE_A"])
	}
}

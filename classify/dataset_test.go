package classify

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envsync/envsync"
)

// TestDatasets classifies every labelled variable of real open-source apps
// (testdata/datasets, or ENVSYNC_DATASETS) and fails below the targets.
func TestDatasets(t *testing.T) {
	dir := os.Getenv("ENVSYNC_DATASETS")
	if dir == "" {
		dir = filepath.Join("..", "testdata", "datasets")
	}
	f, err := os.Open(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = '\t', true, -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	exports := map[string]map[string]string{}
	c := New(nil)
	var total, correct, secrets, secretHits, nonSecrets, falseSecrets int
	for _, row := range rows[1:] {
		name, labels, source := row[0], strings.Split(row[1], "|"), row[3]
		exp, ok := exports[source]
		if !ok {
			data, err := os.ReadFile(filepath.Join(dir, "apps", strings.ReplaceAll(source, "/", "__")+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if exp, err = envsync.ParseExport(source, data); err != nil {
				t.Fatal(err)
			}
			exports[source] = exp
		}
		value, ok := exp[name]
		if !ok {
			t.Errorf("%s: %s is labelled but not in the export", source, name)
			continue
		}
		d := c.Classify(envsync.Var{Name: name, Value: value})
		total++
		right := slices.Contains(labels, string(d.Class))
		if right {
			correct++
		} else {
			t.Logf("miss: %-45s want %-15s got %-8s by %s", name, row[1], d.Class, d.Rule)
		}
		if row[1] == "secret" {
			secrets++
			if d.Class == envsync.Secret {
				secretHits++
			}
		}
		if !slices.Contains(labels, "secret") {
			nonSecrets++
			if d.Class == envsync.Secret {
				falseSecrets++
			}
		}
	}
	recall := float64(secretHits) / float64(secrets)
	accuracy := float64(correct) / float64(total)
	fsr := float64(falseSecrets) / float64(nonSecrets)
	t.Logf("%d variables: secret recall %.1f%% (%d/%d), accuracy %.1f%% (%d/%d), false-secret rate %.1f%% (%d/%d)",
		total, 100*recall, secretHits, secrets, 100*accuracy, correct, total, 100*fsr, falseSecrets, nonSecrets)
	if recall < 1 {
		t.Errorf("secret recall %.1f%% < 100%%", 100*recall)
	}
	if accuracy < 0.95 {
		t.Errorf("accuracy %.1f%% < 95%%", 100*accuracy)
	}
	if fsr > 0.05 {
		t.Errorf("false-secret rate %.1f%% > 5%%", 100*fsr)
	}
}

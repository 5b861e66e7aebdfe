package classify

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/envsync/envsync"
)

// A labelled row of testdata/datasets/labels.tsv.
type labelRow struct {
	name, source, value string
	labels              []string
}

// score counts one app's (or all apps') results.
type score struct {
	total, correct, secrets, secretHits, nonSecrets, falseSecrets, review int
	missesReviewed                                                        int // wrong decisions that are in the review list
}

func (s *score) add(o score) {
	s.total += o.total
	s.correct += o.correct
	s.secrets += o.secrets
	s.secretHits += o.secretHits
	s.nonSecrets += o.nonSecrets
	s.falseSecrets += o.falseSecrets
	s.review += o.review
	s.missesReviewed += o.missesReviewed
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

func (s score) String() string {
	return fmt.Sprintf("%4d vars  recall %5.1f%% (%d/%d)  accuracy %5.1f%% (%d/%d)  false-secret %4.1f%% (%d/%d)  to review %d",
		s.total, pct(s.secretHits, s.secrets), s.secretHits, s.secrets, pct(s.correct, s.total), s.correct, s.total,
		pct(s.falseSecrets, s.nonSecrets), s.falseSecrets, s.nonSecrets, s.review)
}

// exportFile is the export that holds a source's variables.
func exportFile(source string) string {
	if source == "heroku-typical" {
		return "heroku__addons.json"
	}
	return strings.ReplaceAll(source, "/", "__") + ".json"
}

// readDataset reads labels.tsv and checks that every row's value is the one
// its app's export holds (the exports are what `classify --from` reads).
func readDataset(t testing.TB, dir string) []labelRow {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = '\t', true, -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 || !slices.Equal(recs[0], []string{"name", "labels", "value_kind", "source", "note", "value"}) {
		t.Fatalf("labels.tsv: unexpected header %q", recs[0])
	}
	exports := map[string]map[string]string{}
	var rows []labelRow
	for i, rec := range recs[1:] {
		if len(rec) != 6 {
			t.Fatalf("labels.tsv:%d: %d columns; want 6", i+2, len(rec))
		}
		row := labelRow{name: rec[0], labels: strings.Split(rec[1], "|"), source: rec[3], value: rec[5]}
		exp, ok := exports[row.source]
		if !ok {
			data, err := os.ReadFile(filepath.Join(dir, "apps", exportFile(row.source)))
			if err != nil {
				t.Fatal(err)
			}
			if exp, err = envsync.ParseExport(row.source, data); err != nil {
				t.Fatal(err)
			}
			exports[row.source] = exp
		}
		if v, ok := exp[row.name]; !ok {
			t.Errorf("%s: %s is labelled but not in the export", row.source, row.name)
		} else {
			row.value = v
		}
		rows = append(rows, row)
	}
	return rows
}

// TestDatasets classifies every labelled variable of real open-source apps
// (testdata/datasets, or ENVSYNC_DATASETS) app by app, and fails below the
// targets overall or when one app falls below 85%.
func TestDatasets(t *testing.T) {
	dir := os.Getenv("ENVSYNC_DATASETS")
	if dir == "" {
		dir = filepath.Join("..", "testdata", "datasets")
	}
	rows := readDataset(t, dir)
	c := New(nil)
	apps := map[string]*score{}
	for _, row := range rows {
		s := apps[row.source]
		if s == nil {
			s = &score{}
			apps[row.source] = s
		}
		d := c.Classify(envsync.Var{Name: row.name, Value: row.value})
		s.total++
		if d.NeedsReview() {
			s.review++
		}
		if slices.Contains(row.labels, string(d.Class)) {
			s.correct++
		} else {
			t.Logf("miss: %-28s %-45s want %-15s got %-8s by %s (%s)", row.source, row.name, strings.Join(row.labels, "|"), d.Class, d.Rule, d.Confidence)
			if d.NeedsReview() {
				s.missesReviewed++
			}
		}
		if len(row.labels) == 1 && row.labels[0] == "secret" {
			s.secrets++
			if d.Class == envsync.Secret {
				s.secretHits++
			} else {
				t.Errorf("%s: %s is a secret, classified %s by %s", row.source, row.name, d.Class, d.Rule)
			}
		}
		if !slices.Contains(row.labels, "secret") {
			s.nonSecrets++
			if d.Class == envsync.Secret {
				s.falseSecrets++
			}
		}
	}
	names := make([]string, 0, len(apps))
	for n := range apps {
		names = append(names, n)
	}
	sort.Strings(names)
	var all score
	for _, n := range names {
		s := apps[n]
		all.add(*s)
		t.Logf("%-36s %s", n, s)
		if acc := pct(s.correct, s.total); acc < 85 {
			t.Errorf("%s: accuracy %.1f%% < 85%%", n, acc)
		}
	}
	t.Logf("%-36s %s", fmt.Sprintf("all %d apps", len(apps)), all)
	t.Logf("wrong decisions a reviewer sees in the review list: %d of %d", all.missesReviewed, all.total-all.correct)
	if all.secretHits < all.secrets {
		t.Errorf("secret recall %.1f%% < 100%%", pct(all.secretHits, all.secrets))
	}
	if acc := pct(all.correct, all.total); acc < 95 {
		t.Errorf("accuracy %.1f%% < 95%%", acc)
	}
	if fsr := pct(all.falseSecrets, all.nonSecrets); fsr > 3 {
		t.Errorf("false-secret rate %.1f%% > 3%%", fsr)
	}
	// A reviewer checks the weak decisions only: about 20 of a 192-variable app.
	if share := pct(all.review, all.total); share > 10 {
		t.Errorf("%.1f%% of the decisions are weak (to review) > 10%%", share)
	}
}

// BenchmarkClassifyDataset classifies 10,000 variables of real apps: the
// dataset's 1,503 rows, cycled.
func BenchmarkClassifyDataset(b *testing.B) {
	rows := readDataset(b, filepath.Join("..", "testdata", "datasets"))
	c := New(nil)
	vars := make([]envsync.Var, 10000)
	for i := range vars {
		vars[i] = envsync.Var{Name: rows[i%len(rows)].name, Value: rows[i%len(rows)].value}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range vars {
			c.Classify(v)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/10k")
}

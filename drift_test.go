package envsync

import (
	"fmt"
	"testing"
)

func TestShard(t *testing.T) {
	var apps []*App
	for i := range 100 {
		apps = append(apps, &App{Name: fmt.Sprintf("app-%d", i)})
	}
	seen := map[string]int{}
	for k := 1; k <= 4; k++ {
		part := Shard(apps, k, 4)
		if len(part) < 10 {
			t.Errorf("shard %d/4 has only %d of 100 apps", k, len(part))
		}
		for _, a := range part {
			seen[a.Name]++
		}
	}
	for _, a := range apps {
		if seen[a.Name] != 1 {
			t.Fatalf("%s is in %d shards; want exactly 1", a.Name, seen[a.Name])
		}
	}
	// Adding an app moves no other app.
	before := Shard(apps, 2, 4)
	after := Shard(append(apps, &App{Name: "new"}), 2, 4)
	for _, a := range before {
		found := false
		for _, b := range after {
			found = found || a == b
		}
		if !found {
			t.Fatalf("%s moved shard when an app was added", a.Name)
		}
	}
}

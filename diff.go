package envsync

import (
	"maps"
	"slices"
)

// Diff returns what turns old into new, one Change per key, sorted by key:
// Add for a key only in new, Update for a key whose value differs, Delete
// for a key only in old. Only Key, Action, Old and New are set; the caller
// says which store, which class and whether the values are sensitive.
func Diff(old, new map[string]string) []Change {
	var out []Change
	keys := slices.Sorted(maps.Keys(old))
	for k := range new {
		if _, ok := old[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		o, had := old[k]
		n, has := new[k]
		switch {
		case !had:
			out = append(out, Change{Key: k, Action: Add, New: n})
		case !has:
			out = append(out, Change{Key: k, Action: Delete, Old: o})
		case o != n:
			out = append(out, Change{Key: k, Action: Update, Old: o, New: n})
		}
	}
	return out
}

// MarkSensitive sets each change's Sensitive by the display rule: a change
// is sensitive when its class is secret or either side's value is.
func MarkSensitive(cl Classifier, chs []Change) {
	for i := range chs {
		ch := &chs[i]
		ch.Sensitive = ch.Sensitive || Sensitive(cl, ch.Class, ch.Key, ch.Old) || Sensitive(cl, ch.Class, ch.Key, ch.New)
	}
}

package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestNormalizeArgs(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	shapeCommands(app)
	for _, tc := range []struct{ in, want string }{
		{"envsync plan", "envsync plan"},
		{"envsync plan --config x.yaml", "envsync --config x.yaml plan"},
		{"envsync plan -c x.yaml --app web --verbose", "envsync -c x.yaml --verbose plan --app web"},
		{"envsync --verbose plan --config=x.yaml", "envsync --verbose --config=x.yaml plan"},
		{"envsync flags set A=1 --restart -c x.yaml --reason why", "envsync -c x.yaml flags set --restart --reason why -- A=1"},
		{"envsync flags -c x.yaml get A", "envsync -c x.yaml flags get -- A"},
		{"envsync flags unset A -- -B --config", "envsync flags unset -- A -B --config"},
		{"envsync help plan --config x", "envsync help plan --config x"},
		{"envsync plan --generate-bash-completion", "envsync plan --generate-bash-completion"},
	} {
		got, err := normalizeArgs(app, strings.Fields(tc.in))
		if err != nil || !slices.Equal(got, strings.Fields(tc.want)) {
			t.Errorf("%s\n got %q, %v\nwant %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNearest(t *testing.T) {
	cmds := []string{"classify", "plan", "import", "drift", "watch", "flags", "check", "version", "completion"}
	for word, want := range map[string]string{"plann": "plan", "imprt": "import", "drfit": "drift", "ver": "version", "frobnicate": "", "x": ""} {
		if got := nearest(word, cmds); got != want {
			t.Errorf("nearest(%q) = %q; want %q", word, got, want)
		}
	}
}

package envsync

import (
	"bufio"
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"
)

// ParseEnvFile follows the ECS agent's reader (agent/taskresource/envFiles).
func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"basic", "A=1\nB=two\n", map[string]string{"A": "1", "B": "two"}},
		{"first = splits", "A=b=c\n", map[string]string{"A": "b=c"}},
		{"comment", "# A=1\nB=2\n", map[string]string{"B": "2"}},
		{"hash inside value", "A=#x # y\n", map[string]string{"A": "#x # y"}},
		{"quotes kept", "A=\"q\"\nB='s'\n", map[string]string{"A": `"q"`, "B": "'s'"}},
		{"no trimming", " A = 1 \n", map[string]string{" A ": " 1 "}},
		{"export kept in key", "export A=1\n", map[string]string{"export A": "1"}},
		{"empty value skipped", "A=\nB=1\n", map[string]string{"B": "1"}},
		{"empty key skipped", "=1\n", map[string]string{}},
		{"no = skipped", "JUSTTEXT\n", map[string]string{}},
		{"CRLF", "A=1\r\nB=2\r\n", map[string]string{"A": "1", "B": "2"}},
		{"no final newline", "A=1", map[string]string{"A": "1"}},
		{"later wins", "A=1\nA=2\n", map[string]string{"A": "2"}},
		{"unicode", "A=héllo ✓\n", map[string]string{"A": "héllo ✓"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvFile("f.env", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("got %q; want %q", got, tt.want)
			}
		})
	}
	_, err := ParseEnvFile("f.env", []byte("A=1\nB="+strings.Repeat("x", MaxEnvLine)+"\n"))
	var pe *PosError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Fatalf("64 KiB line: err = %v; want f.env:2", err)
	}
}

func TestFormatEnvFile(t *testing.T) {
	got, err := FormatEnvFile(map[string]string{"B": "2", "A": `"quoted" a=b #c`})
	if err != nil {
		t.Fatal(err)
	}
	if want := "A=\"quoted\" a=b #c\nB=2\n"; string(got) != want {
		t.Fatalf("got %q; want %q", got, want)
	}
	_, err = FormatEnvFile(map[string]string{"E": "", "N": "a\nb", "#K": "v", "SP ACE": "v", "OK": "1"})
	var ue *UnrepresentableError
	if !errors.As(err, &ue) || len(ue.Problems) != 4 || !errors.Is(err, ErrUnrepresentable) {
		t.Fatalf("err = %v; want 4 problems", err)
	}
	for _, k := range []string{"E", "N", "#K", "SP ACE"} {
		if !strings.Contains(err.Error(), k+":") {
			t.Errorf("error does not name %q: %v", k, err)
		}
	}
}

// Whatever the writer accepts, the ECS reader returns exactly.
func FuzzEnvFileRoundTrip(f *testing.F) {
	f.Add("A", "1", "B", "a=b #c \"d\"")
	f.Add("K", " x ", "export L", "$HOME")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		vars := map[string]string{k1: v1, k2: v2}
		data, err := FormatEnvFile(vars)
		if err != nil {
			if !errors.Is(err, ErrUnrepresentable) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		got, err := ParseEnvFile("f.env", data)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, vars) {
			t.Fatalf("round trip: %q → %q → %q", vars, data, got)
		}
	})
}

// scanEnvFile is the ECS agent's reader as it is written there (a
// bufio.Scanner over lines): EnvLines must cut files exactly like it.
func scanEnvFile(data []byte) (map[string]string, bool) {
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		text := sc.Text()
		if strings.HasPrefix(text, "#") {
			continue
		}
		if k, v, ok := strings.Cut(text, "="); ok && k != "" && v != "" {
			vars[k] = v
		}
	}
	return vars, sc.Err() == nil
}

func FuzzEnvLines(f *testing.F) {
	for _, s := range []string{"A=1\nB=2\n", "A=1\r\nB=2", "#c\n=x\nK=\n", "A=1\r\r\n", "\n\n", "x", strings.Repeat("a", MaxEnvLine) + "=1\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, ok := scanEnvFile(data)
		got, err := ParseEnvFile("f.env", data)
		if ok != (err == nil) {
			t.Fatalf("scanner ok %v, ParseEnvFile err %v", ok, err)
		}
		if ok && !maps.Equal(got, want) {
			t.Fatalf("ParseEnvFile %q; the ECS reader %q", got, want)
		}
	})
}

type allFeatures struct{}

func (allFeatures) Classify(Var) Decision {
	return Decision{Class: Feature, Rule: "test", Reason: "test"}
}

// check's diff and plan read every awkward file the same way: the keys and
// values CheckEnvChange reports are what ParseEnvFile (and so the S3 store
// and plan) reads.
func TestCheckAgreesWithParseEnvFile(t *testing.T) {
	awkward := map[string]string{
		"FEATURE_EQUALS": "a=b=c", "FEATURE_HASH": "#not-a-comment", "FEATURE_QUOTES": `"quoted" and 'single'`,
		"FEATURE_UNICODE": "héllo wörld ✓ 日本", "FEATURE_SPACES": "  padded  ", "FEATURE_DOLLAR": "${HOME} and $PATH",
		"FEATURE_EXPORT": "export X=1", "FEATURE_BACKSLASH": `C:\path\n`,
	}
	formatted, err := FormatEnvFile(awkward)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"formatted":    string(formatted),
		"export":       "export A=1\nB=2\n",
		"spaces":       " A = 1 \nB= 2\n",
		"empty values": "A=\nB=1\n",
		"crlf":         "A=1\r\nB=2\r\n",
		"later wins":   "A=1\nA=2\n",
		"comments":     "# A=1\n#B=2\nC=#3\n",
		"no equals":    "JUSTTEXT\nD=4",
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			want, err := ParseEnvFile(name, []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			_, keys := CheckEnvChange(name, nil, []byte(data), allFeatures{})
			got := map[string]string{}
			for _, k := range keys {
				if k.Action != Add {
					t.Errorf("%s: %s; want add", k.Key, k.Action)
				}
				got[k.Key] = k.New
			}
			if !maps.Equal(got, want) {
				t.Errorf("check reads %q; ParseEnvFile %q", got, want)
			}
			if _, keys := CheckEnvChange(name, []byte(data), []byte(data), allFeatures{}); len(keys) != 0 {
				t.Errorf("an unchanged file has changed keys: %+v", keys)
			}
		})
	}
}

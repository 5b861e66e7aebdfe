package envsync

import (
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

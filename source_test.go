package envsync

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/joho/godotenv"
)

func TestParseExport(t *testing.T) {
	got, err := ParseExport("x.json", []byte(`{"A": "1", "B": "a=b", "C": "line\nbreak", "D": ""}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"A": "1", "B": "a=b", "C": "line\nbreak", "D": ""}; !maps.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
	for in, want := range map[string]string{
		"[1]":                           "x.json:1: invalid: want a JSON object",
		"{\n\"A\": {\"b\": 1}\n}":       `x.json:2: invalid: "A": want a string value, got an object or array`,
		"{\n\"A\": null\n}":             `x.json:2: invalid: "A": want a string value, got null`,
		"{\"A\": \"1\"} extra":          "unexpected data after the JSON object",
		"{\n\"A\": \"1\",\n":            "x.json:2: invalid: unexpected end of file",
		"{\"A\": \"secretvalue\" \"B\"": "invalid JSON",
		"":                              "x.json:1:",
	} {
		_, err := ParseExport("x.json", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: err = %v; want %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secretvalue") {
			t.Errorf("%q: error shows a value", in)
		}
	}
}

func TestParseDotenv(t *testing.T) {
	got, err := ParseDotenv(".env", []byte("# c\nexport A=1\nB=\"two words\"\nC='x=y'\nD=\"multi\nline\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": "x=y", "D": "multi\nline"}
	if !maps.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
	_, err = ParseDotenv(".env", []byte("A=1\nB=\"hunter2\n"))
	if err == nil || !strings.HasPrefix(err.Error(), ".env:2:") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
	_, err = ParseDotenv(".env", []byte("A=1\n\xff=2\n"))
	if err == nil || !strings.HasPrefix(err.Error(), ".env:2:") {
		t.Fatalf("invalid UTF-8: err = %v", err)
	}
}

func FuzzParseExport(f *testing.F) {
	f.Add([]byte(`{"A": "1"}`))
	f.Add([]byte(`{"A": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParseExport("f.json", data); err != nil && !errors.Is(err, ErrInvalid) {
			var pe *PosError
			if !errors.As(err, &pe) {
				t.Fatalf("error without a position: %v", err)
			}
		}
	})
}

func FuzzParseDotenv(f *testing.F) {
	f.Add([]byte("A=1\nexport B=\"x\"\n"))
	f.Add([]byte("A='unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// No size cut: the error search is linear (BenchmarkParseDotenvErrorAtEnd),
		// so the fuzzer's time bound is the only bound.
		if _, err := ParseDotenv(".env", data); err != nil {
			var pe *PosError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
		}
	})
}

// prefixSearchLine is the old, quadratic way to find a dotenv error's line:
// the line after the longest prefix of lines that parses. The linear search
// must agree with it.
func prefixSearchLine(data []byte) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	good := 0
	for n := 1; n <= len(lines); n++ {
		if _, err := godotenv.UnmarshalBytes(bytes.Join(lines[:n], nil)); err == nil {
			good = n
		}
	}
	return min(good+1, len(lines))
}

func TestParseDotenvErrorLine(t *testing.T) {
	for _, in := range []string{
		"A=1\nB=2\nnot a line\nC=3\n",
		"A=1\nB=\"open\nstill open\nC=3\n",
		"A=1\nB=\"multi\nline\"\n-BAD=x\n",
		"A='x'\nB='y\n\nC=z\n",
		"# comment\n\nexport A=1\nexport B-C=2\n",
		"A=1\r\nB=\"x\r\n",
		"A=\"a\" B=\"b\"\n-C=1\n",
		"A=1\n!=1\n",
	} {
		_, err := ParseDotenv(".env", []byte(in))
		var pe *PosError
		if !errors.As(err, &pe) {
			t.Fatalf("%q: err = %v; want a line", in, err)
		}
		if want := prefixSearchLine([]byte(in)); pe.Line != want {
			t.Errorf("%q: line %d; the prefix search says %d", in, pe.Line, want)
		}
	}
}

func TestParseExportInvalidUTF8(t *testing.T) {
	_, err := ParseExport("x.json", []byte("{\n\"A\": \"1\",\n\"B\": \"caf\xe9\"\n}"))
	if err == nil || err.Error() != "x.json:3: invalid: not valid UTF-8 (a heroku config --json export always is): re-export the file" {
		t.Fatalf("err = %v", err)
	}
}

// BenchmarkParseDotenvErrorAtEnd: 20,000 good lines and a bad last one. The
// error search used to re-parse every prefix (about a minute); it is one pass.
func BenchmarkParseDotenvErrorAtEnd(b *testing.B) {
	var sb strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&sb, "VAR_%d=\"value number %d\"\n", i, i)
	}
	sb.WriteString("this is not a dotenv line\n")
	data := []byte(sb.String())
	for b.Loop() {
		_, err := ParseDotenv(".env", data)
		var pe *PosError
		if !errors.As(err, &pe) || pe.Line != 20001 {
			b.Fatalf("err = %v; want line 20001", err)
		}
	}
}

package envsync

import (
	"errors"
	"maps"
	"strings"
	"testing"
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
		if len(data) > 4096 {
			return // the line search on errors is quadratic; real .env files are small
		}
		if _, err := ParseDotenv(".env", data); err != nil {
			var pe *PosError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
		}
	})
}

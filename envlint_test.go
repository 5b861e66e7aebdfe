package envsync

import (
	"strings"
	"testing"
)

func TestLintEnvFile(t *testing.T) {
	tests := []struct {
		name, in string
		code     string
		line     int
		sev      Severity
	}{
		{"quoted", "A=\"hunter2\"\n", LintQuoted, 1, SevError},
		{"single quoted", "# c\nA='x'\n", LintQuoted, 2, SevError},
		{"empty", "A=\n", LintEmpty, 1, SevError},
		{"export", "export A=1\n", LintExport, 1, SevError},
		{"space before =", "A =1\n", LintSpaceAround, 1, SevError},
		{"space after =", "A= 1\n", LintSpaceAround, 1, SevError},
		{"duplicate", "A=1\nB=2\nA=3\n", LintDuplicate, 3, SevError},
		{"invalid name", "1A=1\n", LintInvalidName, 1, SevError},
		{"crlf", "A=1\r\n", LintCRLF, 1, SevError},
		{"no final newline", "A=1\nB=2", LintNoFinalNL, 2, SevWarning},
		{"lower case", "feature_x=on\n", LintLowerCase, 1, SevWarning},
		{"no equals", "JUST TEXT\n", LintNoEquals, 1, SevError},
		{"leading space", "  A=1\n", LintLeadingSpace, 1, SevError},
		{"too long", "A=" + strings.Repeat("x", MaxEnvLine) + "\n", LintTooLong, 1, SevError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := LintEnvFile("f.env", []byte(tt.in))
			if len(fs) != 1 {
				t.Fatalf("got %d findings %v; want one %s", len(fs), fs, tt.code)
			}
			f := fs[0]
			if f.Code != tt.code || f.Line != tt.line || f.Severity != tt.sev {
				t.Fatalf("got %s line %d %s; want %s line %d %s", f.Code, f.Line, f.Severity, tt.code, tt.line, tt.sev)
			}
			if strings.Contains(f.Message, "hunter2") {
				t.Fatal("a message shows a value")
			}
		})
	}
	if fs := LintEnvFile("f.env", []byte("# flags\nFEATURE_X=on\nURL=https://x.example/?a=b\n\n")); len(fs) != 0 {
		t.Fatalf("clean file: %v", fs)
	}
}

func FuzzLintEnvFile(f *testing.F) {
	f.Add([]byte("A=1\nexport B=\"x\"\r\n c = d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fd := range LintEnvFile("f.env", data) {
			if fd.Line < 1 || fd.Code == "" {
				t.Fatalf("bad finding %+v", fd)
			}
		}
	})
}

package fielderr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheckTextRefusesWhatPostgreSQLCannotStore(t *testing.T) {
	for value, want := range map[string]string{
		"Kære Åse\n\tmed venlig hilsen": "",
		"":                              "",
		"K\xe6re":                       "must be UTF-8 text (the input has bytes that are not UTF-8; save it as UTF-8)",
		"a\x00b":                        "must not contain NUL bytes",
		"\xed\xa0\x80":                  "must be UTF-8 text (the input has bytes that are not UTF-8; save it as UTF-8)", // a lone surrogate
	} {
		var l List
		l.CheckText("subject", value)
		switch {
		case want == "" && l.Err() != nil:
			t.Errorf("%q refused: %v", value, l)
		case want != "" && (len(l) != 1 || l[0].Field != "subject" || l[0].Rule != want):
			t.Errorf("%q: got %v, want subject: %s", value, l, want)
		}
	}
}

// A file name is shown to the citizen and offered as the name to save under: a name that
// hides its real extension behind a right-to-left override (Årsopgørelse‮fdp.exe reads as
// Årsopgørelseexe.pdf), that splits a header line, or that climbs out of a folder is refused.
func TestFilenameRuleRefusesNamesThatDeceiveOrBreakHeaders(t *testing.T) {
	for name, want := range map[string]string{
		"Årsopgørelse 2025.pdf":           "",
		"bilag (1) – kopi.pdf":            "",
		"scan_0001.jpeg":                  "",
		"":                                "must not be empty",
		strings.Repeat("a", 252) + ".pdf": "must be at most 255 bytes",
		strings.Repeat("å", 128) + ".pdf": "must be at most 255 bytes", // 260 bytes, 132 characters
		strings.Repeat("x", 10_000):       "must be at most 255 bytes",
		"a\r\nb.pdf":                      "control characters",
		"a\nContent-Type: text/html.pdf":  "control characters",
		"bilag\x00.pdf":                   "control characters",
		"bilag\x7f.pdf":                   "control characters",
		"bilag\u0085.pdf":                 "control characters", // C1 next line
		"Årsopgørelse\u202Efdp.exe":       "direction or formatting",
		"bilag\u2066.pdf":                 "direction or formatting",
		"bilag\u200F.pdf":                 "direction or formatting",
		"bilag\u061C.pdf":                 "direction or formatting",
		"bilag\u200B.pdf":                 "direction or formatting", // zero width space, Cf
		"bilag\uFEFF.pdf":                 "direction or formatting",
		"../../etc/passwd":                "must not contain / or \\",
		"C:\\Windows\\bilag.pdf":          "must not contain / or \\",
		"bilag\xff.pdf":                   "must be UTF-8",
	} {
		got := FilenameRule(name)
		switch {
		case want == "" && got != "":
			t.Errorf("%q refused: %s", name, got)
		case want != "" && !strings.Contains(got, want):
			t.Errorf("%.40q: got %q, want a rule with %q", name, got, want)
		}
	}
}

// Rules finds the broken rules in a list, in one error, wrapped or not, and none in a failure.
func TestRulesAreFoundHoweverTheyCome(t *testing.T) {
	one := &Error{Field: "subject", Rule: "must not be empty"}
	for name, c := range map[string]struct {
		err  error
		want int
	}{
		"a list": {List{one, one}, 2}, "one": {one, 1}, "one, wrapped": {fmt.Errorf("letter: %w", one), 1},
		"a failure": {errors.New("connection refused"), -1}, "nothing": {nil, -1},
	} {
		list, ok := Rules(c.err)
		if c.want < 0 && ok || c.want >= 0 && (!ok || len(list) != c.want) {
			t.Errorf("%s: %v %t", name, list, ok)
		}
	}
}

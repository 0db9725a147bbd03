package fielderr

import "testing"

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

// Package fielderr carries input errors that name the field and the rule broken,
// so every entry point (CLI, HTTP, bulk) reports bad input the same way.
package fielderr

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is one broken rule on one field, e.g. "subject: must not be empty".
type Error struct {
	Field string
	Rule  string
}

func (e *Error) Error() string { return e.Field + ": " + e.Rule }

// List collects every broken rule in an input, so a user can fix them all at once.
type List []*Error

// Add records a broken rule.
func (l *List) Add(field, rule string) { *l = append(*l, &Error{Field: field, Rule: rule}) }

// Err is nil when no rule was broken.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

func (l List) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Fields lists the names of the fields that broke a rule.
func Fields(err error) []string {
	var l List
	if errors.As(err, &l) {
		out := make([]string, len(l))
		for i, e := range l {
			out[i] = e.Field
		}
		return out
	}
	var e *Error
	if errors.As(err, &e) {
		return []string{e.Field}
	}
	return nil
}

// CheckText records a broken rule when value is not text every part of the system can
// carry: PostgreSQL refuses NUL bytes and invalid UTF-8 with an error that names neither
// field nor rule, and in a bulk run it used to do so after half the run was stored.
func (l *List) CheckText(field, value string) {
	if rule := TextRule(value); rule != "" {
		l.Add(field, rule)
	}
}

// TextRule is the rule value breaks as text, or "" when it is fine: valid UTF-8, no NUL bytes.
func TextRule(value string) string {
	switch {
	case !utf8.ValidString(value):
		return "must be UTF-8 text (the input has bytes that are not UTF-8; save it as UTF-8)"
	case strings.IndexByte(value, 0) >= 0:
		return "must not contain NUL bytes"
	}
	return ""
}

// MaxFilenameBytes is the longest file name most file systems can save.
const MaxFilenameBytes = 255

// FilenameRule is the rule name breaks as the name of a document, or "" when it is fine. The
// name is shown to the citizen and offered as the name to save the file under, so it must
// be one line of text that reads as what it is: a right-to-left override makes
// "Årsopgørelse\u202Efdp.exe" read as "Årsopgørelseexe.pdf", a line break splits the
// header that carries the name, and a slash makes it a path.
func FilenameRule(name string) string {
	switch {
	case !utf8.ValidString(name):
		return TextRule(name)
	case name == "":
		return "must not be empty"
	case len(name) > MaxFilenameBytes:
		return "must be at most 255 bytes"
	}
	for _, r := range name {
		switch {
		case unicode.IsControl(r):
			return "must not contain control characters (line breaks, tabs, NUL)"
		case unicode.Is(unicode.Cf, r):
			return "must not contain invisible direction or formatting characters (such as U+202E, which shows the end of a name backwards)"
		}
	}
	if strings.ContainsAny(name, `/\`) {
		return `must not contain / or \ (a name, not a path)`
	}
	return ""
}

// Rules is the broken rules err carries: a List, or one Error as a list of one; false when err
// is neither (a failure, not bad input).
func Rules(err error) (List, bool) {
	var list List
	var one *Error
	switch {
	case errors.As(err, &list):
		return list, true
	case errors.As(err, &one):
		return List{one}, true
	}
	return nil, false
}

package telemetry

import "regexp"

// personal matches what must never leave a process in a log line or a span: a CPR number
// (ddmmyy, an optional dash, four digits; the date part is checked, so ten-digit Unix times
// and the digit groups of UUIDs do not match), an e-mail address and a mobile number in the
// international form the registry stores (+ and 8 to 15 digits).
//
// Our own log lines and span attributes carry ids only; this is the net under texts we do not
// write ourselves, such as a provider's error message that quotes the number it refused.
var personal = regexp.MustCompile(`\b(?:0[1-9]|[12][0-9]|3[01])(?:0[1-9]|1[0-2])[0-9]{2}-?[0-9]{4}\b` +
	`|[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}` +
	`|\+[1-9][0-9]{7,14}\b`)

// Redacted replaces what was taken out.
const Redacted = "[redacted]"

// Redact takes CPR numbers, e-mail addresses and mobile numbers out of s.
func Redact(s string) string {
	if !mayHold(s) {
		return s
	}
	return personal.ReplaceAllLiteralString(s, Redacted)
}

// mayHold is a cheap first look: everything personal matches holds a run of four digits or
// an @, and most texts (ids, routes, activity names) hold neither.
func mayHold(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '@':
			return true
		case c >= '0' && c <= '9':
			if run++; run >= 4 {
				return true
			}
		default:
			run = 0
		}
	}
	return false
}

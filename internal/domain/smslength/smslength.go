// Package smslength measures a text as a phone counts it: in GSM 03.38 septets (a character of
// the extension table, such as € or [, takes two) while every character is in the GSM
// alphabet, else in UCS-2 code units (a character outside the Basic Multilingual Plane, such
// as an emoji, takes two). One SMS holds 160 septets, or 70 UCS-2 units. A text of 160
// characters with one "ő" in it is three SMS on the citizen's phone, not one.
package smslength

import (
	"fmt"
	"strings"
	"unicode/utf16"
)

// One SMS holds this many GSM septets, or this many UCS-2 units.
const (
	GSMPerSMS  = 160
	UCS2PerSMS = 70
)

// The GSM 03.38 default alphabet (one septet) and its extension table (two: escape and the
// character), as phones send them.
const (
	gsmBasic     = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

// Length is a text's size on the phone.
type Length struct {
	Units int  // septets (GSM) or UCS-2 code units
	UCS2  bool // some character is outside the GSM alphabet
	// Forcing is the first character outside the GSM alphabet: the one that made it UCS-2.
	Forcing rune
}

// Of measures text.
func Of(text string) Length {
	var gsm, ucs2 int
	var forcing rune
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsmExtension, r):
			gsm += 2
		case strings.ContainsRune(gsmBasic, r) && r != 0x1b:
			gsm++
		case forcing == 0:
			forcing = r
		}
		ucs2 += len(utf16.Encode([]rune{r}))
	}
	if forcing != 0 {
		return Length{Units: ucs2, UCS2: true, Forcing: forcing}
	}
	return Length{Units: gsm}
}

// Max is how many units one SMS holds in this encoding.
func (l Length) Max() int {
	if l.UCS2 {
		return UCS2PerSMS
	}
	return GSMPerSMS
}

// OneSMS tells whether the text is one SMS on the phone.
func (l Length) OneSMS() bool { return l.Units <= l.Max() }

// Rule says why a text is not one SMS, naming the character that forced UCS-2; "" when it is.
func Rule(text string) string {
	l := Of(text)
	if l.OneSMS() {
		return ""
	}
	if l.UCS2 {
		return fmt.Sprintf("must be one SMS: %q is not in the GSM alphabet, so the message is sent as UCS-2, which holds %d characters; it has %d",
			l.Forcing, UCS2PerSMS, l.Units)
	}
	return fmt.Sprintf("must be one SMS: at most %d GSM characters (€ ^ { } [ ] ~ | \\ count two); it has %d", GSMPerSMS, l.Units)
}

// Fit shortens text to one SMS, ending it with "..." when it had to be cut.
func Fit(text string) string {
	if Of(text).OneSMS() {
		return text
	}
	r := []rune(text)
	for n := len(r) - 1; n > 0; n-- {
		if cut := string(r[:n]) + "..."; Of(cut).OneSMS() {
			return cut
		}
	}
	return ""
}

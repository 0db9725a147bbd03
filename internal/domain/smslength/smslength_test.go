package smslength_test

import (
	"strings"
	"testing"

	"digitalpost/internal/domain/smslength"
)

func TestATextIsMeasuredAsThePhoneCountsIt(t *testing.T) {
	for _, c := range []struct {
		name, text string
		units      int
		ucs2       bool
		one        bool
	}{
		{"Danish letters are GSM", "Påmindelse fra Aarhus Kommune: Du har en aftale på Østergade.", 61, false, true},
		{"160 GSM characters", strings.Repeat("a", 160), 160, false, true},
		{"161 GSM characters", strings.Repeat("a", 161), 161, false, false},
		{"the euro sign counts two", strings.Repeat("a", 159) + "€", 161, false, false},
		{"one ő makes it UCS-2", strings.Repeat("a", 69) + "ő", 70, true, true},
		{"71 in UCS-2", strings.Repeat("a", 70) + "ő", 71, true, false},
		{"an emoji is two UCS-2 units", strings.Repeat("a", 68) + "🙂", 70, true, true},
	} {
		l := smslength.Of(c.text)
		if l.Units != c.units || l.UCS2 != c.ucs2 || l.OneSMS() != c.one {
			t.Errorf("%s: %+v, one SMS %t; want %d units, UCS-2 %t, one SMS %t", c.name, l, l.OneSMS(), c.units, c.ucs2, c.one)
		}
	}
	if rule := smslength.Rule(strings.Repeat("a", 70) + "ő"); !strings.Contains(rule, `'ő'`) || !strings.Contains(rule, "70") {
		t.Errorf("the rule does not name the character: %q", rule)
	}
	for _, text := range []string{strings.Repeat("æ", 200), strings.Repeat("€", 100), "Påmindelse fra Sőre Kommune: " + strings.Repeat("x", 80)} {
		fit := smslength.Fit(text)
		if !smslength.Of(fit).OneSMS() || !strings.HasSuffix(fit, "...") {
			t.Errorf("Fit(%q) = %q (%+v)", text, fit, smslength.Of(fit))
		}
	}
}

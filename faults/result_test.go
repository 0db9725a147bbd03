package main

import "testing"

// A row passed with any number of unknown notices and read a failed count as none lost
// (issue 27, row 4): unknown notices beyond what the fault can explain, and a row whose
// counting failed, fail it.
func TestARowFailsOnUnexplainedUnknownsAndFailedCounts(t *testing.T) {
	clean := result{Name: "no faults", Letters: 60, Rate: 20}
	if clean.failed() {
		t.Fatal("a clean row failed")
	}
	for name, r := range map[string]result{
		"unknown notices with no fault that cuts calls": {Name: "no faults", Letters: 60, Rate: 20, Unknown: 1},
		"more unknown notices than one worker has in flight": {Name: "worker SIGKILL", Letters: 60, Rate: 20,
			Unknown: inFlight(20) + 1, MaxUnknown: inFlight(20)},
		"a count that failed":          {Name: "no faults", Letters: 60, Rate: 20, Note: "counting lost letters: conn closed"},
		"a refusal whose count failed": {Name: "bulk refused", Refusal: true, Refused: true, Note: "counting letters: conn closed"},
	} {
		if !r.failed() {
			t.Errorf("%s: the row passed", name)
		}
	}
	explained := result{Name: "worker SIGKILL", Letters: 60, Rate: 20, Unknown: 4, MaxUnknown: inFlight(20)}
	if explained.failed() {
		t.Fatal("unknown notices a killed worker explains failed the row")
	}
}

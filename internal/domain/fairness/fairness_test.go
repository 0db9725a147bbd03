package fairness

import (
	"strings"
	"testing"
)

func TestSendersAreFairnessKeysWithTheirWeight(t *testing.T) {
	w, err := ParseWeights(1, " skat=0.5, region-midt=2 ")
	if err != nil {
		t.Fatal(err)
	}
	if p := w.Priority("skat", false); p.FairnessKey != "skat" || p.FairnessWeight != 0.5 || p.PriorityKey != BulkKey {
		t.Fatalf("skat's bulk letters: %+v", p)
	}
	if p := w.Priority("region-midt", true); p.FairnessWeight != 2 || p.PriorityKey != UrgentKey {
		t.Fatalf("region-midt's urgent letters: %+v", p)
	}
	if p := w.Priority("aarhus-kommune", true); p.FairnessWeight != 1 {
		t.Fatalf("a sender without an override: %+v, want the default weight 1", p)
	}
	if p := w.Share("skat"); p.PriorityKey != 0 || p.FairnessKey != "skat" || p.FairnessWeight != 0.5 {
		t.Fatalf("skat's webhook deliveries: %+v, want the default priority with skat's weight", p)
	}
}

func TestUrgentGoesBeforeBulkAndBothAroundTemporalsDefault(t *testing.T) {
	// Temporal's default priority (3) is what caseworkers' workflows and the recovery sweep keep.
	if !(UrgentKey < 3 && 3 < BulkKey) {
		t.Fatalf("urgent %d, bulk %d: want urgent < 3 < bulk (lower goes first)", UrgentKey, BulkKey)
	}
}

func TestBadWeightsNameTheSenderAndTheRule(t *testing.T) {
	for spec, want := range map[string]string{
		"skat":          `"skat" is not sender=weight`,
		"skat=0":        "the weight of skat must be a number above 0",
		"skat=-1":       "the weight of skat must be a number above 0",
		"skat=much":     "the weight of skat must be a number above 0",
		"=2":            `"=2" is not sender=weight`,
		"skat=1,,x=2,y": `"y" is not sender=weight`,
	} {
		_, err := ParseWeights(1, spec)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "SENDER_WEIGHTS: ") {
			t.Errorf("SENDER_WEIGHTS=%q: %v, want an error saying %q", spec, err, want)
		}
	}
	if _, err := ParseWeights(-1, ""); err == nil || !strings.Contains(err.Error(), "SENDER_WEIGHT_DEFAULT") {
		t.Errorf("a negative default weight: %v, want refused naming SENDER_WEIGHT_DEFAULT", err)
	}
	if w, err := ParseWeights(0, ""); err != nil || w.Of("skat") != 1 {
		t.Errorf("an unset default weight: %v %v, want 1", w.Of("skat"), err)
	}
}

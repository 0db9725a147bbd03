// Package fairness decides the order in which Temporal hands out work that every sender
// shares: the letters queue and each provider's queue. Each sender is a fairness key, so one
// sender's backlog never holds back another's letters beyond its weighted share; within a
// sender, urgent work (a single letter, a NemSMS message, an appointment reminder) goes before
// bulk letters.
package fairness

import (
	"fmt"
	"strconv"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// Priority keys, lower first. Temporal's default is 3, which the caseworkers' workflows and
// the recovery sweep keep: between a sender's urgent letters and its bulk runs.
const (
	UrgentKey = 2
	BulkKey   = 4
)

// Weights are the senders' shares of each queue: a sender of weight 2 gets twice the tasks of a
// sender of weight 1 while both have a backlog. A sender without an override has Default.
type Weights struct {
	Default  float32
	BySender map[string]float32
}

// ParseWeights reads SENDER_WEIGHTS ("skat=0.5,region-midt=2") over a default weight (0: 1).
func ParseWeights(byDefault float64, overrides string) (Weights, error) {
	switch {
	case byDefault < 0:
		return Weights{}, fmt.Errorf("SENDER_WEIGHT_DEFAULT: must be above 0, got %v", byDefault)
	case byDefault == 0:
		byDefault = 1
	}
	w := Weights{Default: float32(byDefault), BySender: map[string]float32{}}
	for _, part := range strings.Split(overrides, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		sender, value, ok := strings.Cut(part, "=")
		weight, err := strconv.ParseFloat(strings.TrimSpace(value), 32)
		switch sender = strings.TrimSpace(sender); {
		case !ok || sender == "":
			return Weights{}, fmt.Errorf("SENDER_WEIGHTS: %q is not sender=weight", part)
		case err != nil || weight <= 0:
			return Weights{}, fmt.Errorf("SENDER_WEIGHTS: the weight of %s must be a number above 0, got %q", sender, value)
		}
		w.BySender[sender] = float32(weight)
	}
	return w, nil
}

// Of is a sender's weight.
func (w Weights) Of(sender string) float32 {
	if v, ok := w.BySender[sender]; ok {
		return v
	}
	if w.Default <= 0 {
		return 1
	}
	return w.Default
}

// Priority is the place in Temporal's queues of a sender's work: its fairness key and weight,
// and urgent or bulk. Activities inherit their workflow's priority, so a letter's notices on
// the providers' queues keep the letter's place.
func (w Weights) Priority(sender string, urgent bool) temporal.Priority {
	key := BulkKey
	if urgent {
		key = UrgentKey
	}
	return temporal.Priority{PriorityKey: key, FairnessKey: sender, FairnessWeight: w.Of(sender)}
}

// Share is a sender's fair share at Temporal's default priority, for work that is neither a
// letter nor urgent: the delivery of the sender's webhook events.
func (w Weights) Share(sender string) temporal.Priority {
	return temporal.Priority{FairnessKey: sender, FairnessWeight: w.Of(sender)}
}

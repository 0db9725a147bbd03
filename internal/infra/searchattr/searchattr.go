// Package searchattr names the search attributes operators filter on in the Temporal UI.
// None of them may hold personal data: they are stored and indexed in plaintext.
package searchattr

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

var (
	LetterStatus        = temporal.NewSearchAttributeKeyKeyword("LetterStatus")
	LetterChannel       = temporal.NewSearchAttributeKeyKeyword("LetterChannel")
	LetterSender        = temporal.NewSearchAttributeKeyKeyword("LetterSender")
	ExemptionCaseStatus = temporal.NewSearchAttributeKeyKeyword("ExemptionCaseStatus")
)

var all = []temporal.SearchAttributeKey{LetterStatus, LetterChannel, LetterSender, ExemptionCaseStatus}

// Register adds any missing search attribute to the namespace and waits until Temporal's
// frontend can use them; running it again changes nothing. A namespace's services learn of
// new attributes on their next cache refresh (seconds on a durable server): a letter started
// before then is refused ("no mapping defined for search attribute"), and would wait for the
// recovery sweep.
func Register(ctx context.Context, c client.Client, namespace string) error {
	ops := c.OperatorService()
	have, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, k := range all {
		if _, ok := have.CustomAttributes[k.GetName()]; !ok {
			missing[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		return fmt.Errorf("register search attributes: %w", err)
	}
	return awaitUsable(ctx, c, namespace, missing)
}

// UsableWithin bounds the wait for new search attributes to be usable.
const UsableWithin = 60 * time.Second

// awaitUsable asks Temporal to count workflows by each new attribute until it can: the
// frontend that refuses a start for want of an attribute's mapping refuses the count too.
func awaitUsable(ctx context.Context, c client.Client, namespace string, added map[string]enumspb.IndexedValueType) error {
	ctx, cancel := context.WithTimeout(ctx, UsableWithin)
	defer cancel()
	for name := range added {
		for {
			_, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: name + " = 'usable'"})
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("search attribute %s registered but not usable within %s: %w", name, UsableWithin, err)
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}

// Package searchattr names the search attributes operators filter on in the Temporal UI.
// None of them may hold personal data: they are stored and indexed in plaintext.
package searchattr

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
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

// Register adds any missing search attribute to the namespace; running it again changes nothing.
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
	return nil
}

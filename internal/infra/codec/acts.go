package codec

import (
	"fmt"
	"reflect"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// Act is a payload that records a human act: an answer, a decision, a withdrawal. Sealed for
// its workflow, an act could still be taken for another act of the same workflow (a moved
// appointment sent back as a withdrawal names the same sender; a citizen's "accept" read as a
// revocation names the same citizen), so an act's payload names its type inside the seal and
// opens only as that type.
type Act interface{ HumanAct() }

// metaAct names, inside the sealed plaintext, the Go type of an Act.
const metaAct = "digitalpost-act"

// Binding is embedded in each Act: it tells whether the act's payload was sealed before acts
// named their workflow (Unbound). Such a payload, copied from an old history, opens in any
// workflow; refusing it when decoding would stop old histories from replaying, so the
// workflow's Update validators (which do not run on replay) refuse it instead.
type Binding struct{ unbound bool }

// Unbound: the act's payload was sealed, but for no workflow in particular.
func (b Binding) Unbound() bool { return b.unbound }

func (b *Binding) markUnbound() { b.unbound = true }

type unboundMarker interface{ markUnbound() }

// ErrOtherAct: a sealed act was sent as another act.
var ErrOtherAct = fmt.Errorf("payload records another act than this one; refused")

// acts is the default data converter, naming the type of every Act it encodes and refusing
// to decode a payload sealed for a workflow into an Act of another type. Payloads sealed
// before acts were named carry no name and open as before (histories that wait for days).
type acts struct{ converter.DataConverter }

func actName(v any) (string, bool) {
	if _, ok := v.(Act); !ok {
		return "", false
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath() + "." + t.Name(), true
}

func (a acts) ToPayload(v any) (*commonpb.Payload, error) {
	p, err := a.DataConverter.ToPayload(v)
	if name, ok := actName(v); ok && err == nil && p != nil {
		if p.Metadata == nil {
			p.Metadata = map[string][]byte{}
		}
		p.Metadata[metaAct] = []byte(name)
	}
	return p, err
}

func (a acts) ToPayloads(values ...any) (*commonpb.Payloads, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := &commonpb.Payloads{}
	for i, v := range values {
		if raw, ok := v.(converter.RawValue); ok {
			out.Payloads = append(out.Payloads, raw.Payload())
			continue
		}
		p, err := a.ToPayload(v)
		if err != nil {
			return nil, fmt.Errorf("values[%d]: %w", i, err)
		}
		out.Payloads = append(out.Payloads, p)
	}
	return out, nil
}

func (a acts) FromPayload(p *commonpb.Payload, valuePtr any) error {
	if want, ok := actName(valuePtr); ok && p != nil {
		_, bound := p.GetMetadata()[metaWorkflow]
		if got := string(p.GetMetadata()[metaAct]); bound && got != want {
			return ErrOtherAct
		}
	}
	if err := a.DataConverter.FromPayload(p, valuePtr); err != nil {
		return err
	}
	if m, ok := valuePtr.(unboundMarker); ok {
		if _, unbound := p.GetMetadata()[metaUnbound]; unbound {
			m.markUnbound()
		}
	}
	return nil
}

func (a acts) FromPayloads(payloads *commonpb.Payloads, valuePtrs ...any) error {
	for i, p := range payloads.GetPayloads() {
		if i >= len(valuePtrs) {
			break
		}
		if raw, ok := valuePtrs[i].(*converter.RawValue); ok {
			*raw = converter.NewRawValue(p)
			continue
		}
		if err := a.FromPayload(p, valuePtrs[i]); err != nil {
			return fmt.Errorf("payload item %d: %w", i, err)
		}
	}
	return nil
}

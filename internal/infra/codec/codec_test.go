package codec

import (
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func payload(t *testing.T, v any) *commonpb.Payload {
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func keyring(t *testing.T, spec string) *Keyring {
	k, err := ParseKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealedPayloadHidesTheTextAndOpensAgain(t *testing.T) {
	c := New(keyring(t, NewKeySpec("k1")))
	in := payload(t, map[string]string{"cpr": "0101801234", "name": "Anna Jensen"})
	sealed, err := c.Encode([]*commonpb.Payload{in})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed[0].Data), "0101801234") || strings.Contains(string(sealed[0].Data), "Anna") {
		t.Fatal("sealed payload holds plaintext")
	}
	if string(sealed[0].Metadata["encryption-key-id"]) != "k1" || string(sealed[0].Metadata["encoding"]) != Encoding {
		t.Fatalf("metadata %v", sealed[0].Metadata)
	}
	opened, err := c.Decode(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if string(opened[0].Data) != string(in.Data) || string(opened[0].Metadata["encoding"]) != "json/plain" {
		t.Fatalf("opened %s %v", opened[0].Data, opened[0].Metadata)
	}
}

func TestRotatedKeyStillOpensOldPayloads(t *testing.T) {
	old := NewKeySpec("2025")
	sealedWithOld, err := New(keyring(t, old)).Encode([]*commonpb.Payload{payload(t, "old letter")})
	if err != nil {
		t.Fatal(err)
	}
	rotated := New(keyring(t, NewKeySpec("2026")+","+old))
	opened, err := rotated.Decode(sealedWithOld)
	if err != nil || string(opened[0].Data) != `"old letter"` {
		t.Fatalf("old payload after rotation: %s %v", opened[0].GetData(), err)
	}
	fresh, _ := rotated.Encode([]*commonpb.Payload{payload(t, "new letter")})
	if id := string(fresh[0].Metadata["encryption-key-id"]); id != "2026" {
		t.Fatalf("new payloads sealed with %q, want the first key", id)
	}
}

func TestPayloadWithARetiredKeyFailsClearly(t *testing.T) {
	sealed, _ := New(keyring(t, NewKeySpec("retired"))).Encode([]*commonpb.Payload{payload(t, "x")})
	_, err := New(keyring(t, NewKeySpec("current"))).Decode(sealed)
	if err == nil || !strings.Contains(err.Error(), `key "retired"`) {
		t.Fatalf("error %v", err)
	}
}

func TestTamperedPayloadDoesNotOpen(t *testing.T) {
	c := New(keyring(t, NewKeySpec("k1")))
	sealed, _ := c.Encode([]*commonpb.Payload{payload(t, "x")})
	sealed[0].Data[len(sealed[0].Data)-1] ^= 1
	if _, err := c.Decode(sealed); err == nil {
		t.Fatal("tampered payload opened")
	}
}

func TestOperatorsSeePlaintextAsItIs(t *testing.T) {
	in := payload(t, "plain")
	out, err := New(keyring(t, NewKeySpec("k1"))).Decode([]*commonpb.Payload{in})
	if err != nil || out[0] != in {
		t.Fatalf("plain payload changed: %v", err)
	}
}

// What `temporal workflow signal --input '{"At":…}'` sends: plaintext JSON. A worker must not act on it.
func TestWorkersRefusePlaintext(t *testing.T) {
	keys := keyring(t, NewKeySpec("k1"))
	forged := payload(t, map[string]any{"Accept": true})
	if _, err := Worker(keys).Decode([]*commonpb.Payload{forged}); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("plaintext payload: error %v, want ErrNotSealed", err)
	}
	var accept struct{ Accept bool }
	err := DataConverter(keys).FromPayload(forged, &accept)
	if err == nil || accept.Accept {
		t.Fatalf("data converter took a plaintext payload: %v %+v", err, accept)
	}
}

func forWorkflow(c *Codec, id string) converter.PayloadCodec {
	return c.WithSerializationContext(converter.WorkflowSerializationContext{Namespace: "default", WorkflowID: id})
}

func TestAPayloadOpensOnlyInTheWorkflowItWasSealedFor(t *testing.T) {
	keys := keyring(t, NewKeySpec("k1"))
	answer := payload(t, map[string]any{"Accept": true})
	sealed, err := forWorkflow(Worker(keys), "reading-access-mine").Encode([]*commonpb.Payload{answer})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed[0].Data), "reading-access-mine") {
		t.Fatal("the workflow id is readable outside the seal")
	}
	opened, err := forWorkflow(Worker(keys), "reading-access-mine").Decode(sealed)
	if err != nil || string(opened[0].Data) != string(answer.Data) {
		t.Fatalf("own workflow: %v", err)
	}
	if _, err := forWorkflow(Worker(keys), "reading-access-strangers").Decode(sealed); !errors.Is(err, ErrOtherWorkflow) {
		t.Fatalf("replayed into another workflow: error %v, want ErrOtherWorkflow", err)
	}
	activity := Worker(keys).WithSerializationContext(converter.ActivitySerializationContext{WorkflowID: "reading-access-strangers"})
	if _, err := activity.Decode(sealed); !errors.Is(err, ErrOtherWorkflow) {
		t.Fatalf("replayed into another workflow's activity: error %v", err)
	}
	// The Temporal UI's codec server is told no workflow: it opens the payload for the operator.
	if shown, err := New(keys).Decode(sealed); err != nil || string(shown[0].Data) != string(answer.Data) {
		t.Fatalf("operator's view: %v", err)
	}
}

func TestPayloadsSealedBeforeBindingStillOpen(t *testing.T) {
	keys := keyring(t, NewKeySpec("k1"))
	unbound, _ := New(keys).Encode([]*commonpb.Payload{payload(t, "letter from before")})
	if _, err := forWorkflow(Worker(keys), "letter-x").Decode(unbound); err != nil {
		t.Fatalf("a payload sealed without a workflow (older histories, failures): %v", err)
	}
}

func TestBadKeySpecsNameTheVariable(t *testing.T) {
	for _, spec := range []string{"", "nokey", "k1:notbase64!", "k1:" + "c2hvcnQ=", NewKeySpec("a") + "," + NewKeySpec("a")} {
		if _, err := ParseKeys(spec); err == nil || !strings.Contains(err.Error(), "PAYLOAD_KEYS") {
			t.Errorf("ParseKeys(%.12q…) error %v", spec, err)
		}
	}
}

type withdrawal struct {
	Reason, Sender string
	Binding
}
type move struct {
	At     string
	Sender string
}

func (withdrawal) HumanAct() {}
func (move) HumanAct()       {}

// Within one workflow, a sealed act opens only as the act it was: a moved appointment copied
// from a letter's history and sent as a withdrawal names the same sender, and would pass.
func TestAnActOpensOnlyAsTheActItWas(t *testing.T) {
	keys := keyring(t, NewKeySpec("k1"))
	letter := DataConverter(keys).(interface {
		WithSerializationContext(converter.SerializationContext) converter.DataConverter
	}).WithSerializationContext(converter.WorkflowSerializationContext{WorkflowID: "letter-1"})
	sealed, err := letter.ToPayloads(move{At: "2027-01-01T09:00:00Z", Sender: "region-midt"})
	if err != nil {
		t.Fatal(err)
	}
	var w withdrawal
	if err := letter.FromPayloads(sealed, &w); !errors.Is(err, ErrOtherAct) {
		t.Fatalf("a move sent as a withdrawal: %v (decoded %+v)", err, w)
	}
	var m move
	if err := letter.FromPayloads(sealed, &m); err != nil || m.Sender != "region-midt" {
		t.Fatalf("the move as itself: %v %+v", err, m)
	}
	// Acts sealed before they were named open as before (old histories replay), but say that
	// they were sealed for no workflow, so that a validator can refuse one sent anew.
	if w.Unbound() {
		t.Fatal("an act that failed to open is marked")
	}
	old, _ := New(keys).Encode([]*commonpb.Payload{payload(t, map[string]string{"Reason": "x", "Sender": "region-midt"})})
	if err := letter.FromPayloads(&commonpb.Payloads{Payloads: old}, &w); err != nil || w.Sender != "region-midt" || !w.Unbound() {
		t.Fatalf("an act sealed before acts were named: %v %+v, unbound %t", err, w, w.Unbound())
	}
	bound, _ := letter.ToPayloads(withdrawal{Reason: "y", Sender: "region-midt"})
	var fresh withdrawal
	if err := letter.FromPayloads(bound, &fresh); err != nil || fresh.Unbound() {
		t.Fatalf("an act sealed for its workflow: %v, unbound %t", err, fresh.Unbound())
	}
	var plain map[string]any
	if err := letter.FromPayloads(sealed, &plain); err != nil || plain["Sender"] != "region-midt" {
		t.Fatalf("an act read as plain data: %v", err)
	}
}

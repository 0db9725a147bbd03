// Package codec encrypts every Temporal payload with AES-256-GCM, so histories stored on
// the Temporal server hold no personal data in plaintext. Each payload names the key that
// sealed it, so keys can rotate: new payloads use the active key, old ones stay readable
// as long as their key is still listed.
//
// Sealing is also what makes a payload ours. Whoever reaches the Temporal frontend can send
// a signal or an Update, but without the key they can only send plaintext, which the workers
// refuse; and a sealed payload copied out of one history names the workflow it was sealed
// for, so it does not open in another (a citizen's "accept" in their own reading-access
// request cannot be replayed into a stranger's).
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// Encoding marks a payload this codec sealed.
	Encoding     = "binary/encrypted"
	metaKeyID    = "encryption-key-id"
	metaEncoding = converter.MetadataEncoding
	// metaWorkflow names, inside the sealed plaintext, the workflow the payload was sealed
	// for. Inside, so it is as tamper-proof as the data and the Temporal UI's codec server,
	// which is never told a workflow id, can still open the payload for an operator.
	metaWorkflow = "digitalpost-workflow-id"
	// metaUnbound marks, on a decoded payload only (never stored), one that was sealed for no
	// workflow: before workflows were named, or by a client without a serialization context.
	metaUnbound = "digitalpost-sealed-unbound"
)

// Keyring holds the keys, the first being the one that seals new payloads.
type Keyring struct {
	active string
	aeads  map[string]cipher.AEAD
}

// ParseKeys reads "id:base64key[,id:base64key…]"; the first entry is the active key.
// Keys are 32 bytes (AES-256), standard base64.
func ParseKeys(spec string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		id, b64, ok := strings.Cut(entry, ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("PAYLOAD_KEYS: entry %d must be id:base64key", i+1)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("PAYLOAD_KEYS: key %q must be 32 bytes in base64", id)
		}
		block, _ := aes.NewCipher(raw)
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("PAYLOAD_KEYS: key id %q appears twice", id)
		}
		k.aeads[id] = aead
		if i == 0 {
			k.active = id
		}
	}
	return k, nil
}

// NewKeySpec makes a fresh random key entry "id:base64key".
func NewKeySpec(id string) string {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		panic(err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(raw)
}

// ActiveKeyID names the key that seals new payloads.
func (k *Keyring) ActiveKeyID() string { return k.active }

// Codec is a converter.PayloadCodec. The workers' and clients' codec (Worker) refuses what it
// did not seal; the operators' (New) shows whatever a history holds.
type Codec struct {
	keys *Keyring
	// workflowID is the workflow the payloads at hand belong to, from the SDK's serialization
	// context: new payloads are sealed for it, and one sealed for another workflow is refused.
	// Empty when the SDK gives no context (failures, the codec server): nothing is checked.
	workflowID string
	// sealedOnly refuses plaintext payloads: set for the processes that act on payloads.
	sealedOnly bool
}

// New is the codec for showing payloads to operators (the codec server, history dumps): it
// opens what it can and passes plaintext through, so a forged payload is visible as such.
func New(keys *Keyring) *Codec { return &Codec{keys: keys} }

// Worker is the codec of every process that acts on payloads: workers and clients. It refuses
// payloads it did not seal, and those sealed for another workflow.
func Worker(keys *Keyring) *Codec { return &Codec{keys: keys, sealedOnly: true} }

// WithSerializationContext binds the codec to the workflow the SDK is working for.
func (c *Codec) WithSerializationContext(sc converter.SerializationContext) converter.PayloadCodec {
	var id string
	switch s := sc.(type) {
	case converter.WorkflowSerializationContext:
		id = s.WorkflowID
	case converter.ActivitySerializationContext:
		id = s.WorkflowID
	}
	if id == c.workflowID {
		return c
	}
	bound := *c
	bound.workflowID = id
	return &bound
}

// ErrNotSealed: a payload came in plaintext, so no process holding the keys wrote it.
var ErrNotSealed = errors.New("payload is not sealed with a PAYLOAD_KEYS key, so no Digital Post process wrote it; refused")

// ErrOtherWorkflow: a sealed payload was copied from another workflow's history.
var ErrOtherWorkflow = errors.New("payload was sealed for another workflow; refused")

// Encode seals each payload whole (metadata and data) with the active key, for the workflow
// of the serialization context when there is one.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	aead := c.keys.aeads[c.keys.active]
	for i, p := range payloads {
		if c.workflowID != "" {
			meta := make(map[string][]byte, len(p.GetMetadata())+1)
			maps.Copy(meta, p.GetMetadata())
			meta[metaWorkflow] = []byte(c.workflowID)
			p = &commonpb.Payload{Metadata: meta, Data: p.GetData()}
		}
		plain, err := p.Marshal()
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{metaEncoding: []byte(Encoding), metaKeyID: []byte(c.keys.active)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(c.keys.active)),
		}
	}
	return out, nil
}

// Decode opens sealed payloads. Plaintext is refused by a Worker codec and passed through
// unchanged by an operator's; a payload sealed for another workflow than the context's is
// refused. Payloads sealed before workflows were named, or without a context, open as before.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[metaEncoding]) != Encoding {
			if c.sealedOnly {
				return nil, ErrNotSealed
			}
			out[i] = p
			continue
		}
		id := string(p.Metadata[metaKeyID])
		aead, ok := c.keys.aeads[id]
		if !ok {
			return nil, fmt.Errorf("payload sealed with key %q, which is not in PAYLOAD_KEYS", id)
		}
		if len(p.Data) < aead.NonceSize() {
			return nil, errors.New("sealed payload is too short")
		}
		nonce, sealed := p.Data[:aead.NonceSize()], p.Data[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, sealed, []byte(id))
		if err != nil {
			return nil, fmt.Errorf("payload sealed with key %q does not open: %w", id, err)
		}
		var decoded commonpb.Payload
		if err := decoded.Unmarshal(plain); err != nil {
			return nil, err
		}
		// The binding stays on the decoded payload: an Act decodes only from a bound payload
		// that names it (acts.go); the JSON converter ignores the entry.
		sealedFor, ok := decoded.Metadata[metaWorkflow]
		if ok && c.workflowID != "" && string(sealedFor) != c.workflowID {
			return nil, ErrOtherWorkflow
		}
		if !ok {
			if decoded.Metadata == nil {
				decoded.Metadata = map[string][]byte{}
			}
			decoded.Metadata[metaUnbound] = []byte("1")
		}
		out[i] = &decoded
	}
	return out, nil
}

// DataConverter wraps the default converter with encryption, for workers and clients.
func DataConverter(keys *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(acts{converter.GetDefaultDataConverter()}, Worker(keys))
}

// FailureConverter moves failure messages and stack traces into an encrypted payload,
// since an error text can name a citizen as easily as a payload can.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return sealedFailures{FailureConverter: temporal.NewDefaultFailureConverter(
		temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true}), dc: dc}
}

// sealedFailures makes sure no failure leaves in plaintext. The SDK records a local
// activity's failure in its marker command and then, with the very same object, turns it back
// into an error for the workflow; decoding writes the plaintext message into that object, and
// the marker went to the history with "twilio status 503 …" beside the sealed copy (seen by a
// test reading the raw history). So failures are decoded from a copy, and every failure in a
// chain is sealed on the way out, whatever its way in.
type sealedFailures struct {
	converter.FailureConverter
	dc converter.DataConverter
}

// encodedMessage is what the SDK writes in place of a sealed failure's message.
const encodedMessage = "Encoded failure"

func (s sealedFailures) ErrorToFailure(err error) *failurepb.Failure {
	f := s.FailureConverter.ErrorToFailure(err)
	for c := f; c != nil; c = c.GetCause() {
		if c.GetEncodedAttributes() == nil {
			if encErr := converter.EncodeCommonFailureAttributes(s.dc, c); encErr != nil {
				c.Message, c.StackTrace = encodedMessage, "" // never plaintext, even if sealing failed
			}
			continue
		}
		c.Message, c.StackTrace = encodedMessage, ""
	}
	return f
}

func (s sealedFailures) FailureToError(f *failurepb.Failure) error {
	if f == nil {
		return nil
	}
	return s.FailureConverter.FailureToError(proto.Clone(f).(*failurepb.Failure))
}

// DeriveKey derives a 32-byte key for another purpose (a keyed hash, say) from the active key
// of a PAYLOAD_KEYS spec, so that a deployment has one secret to keep rather than one per use.
// Rotating the active key changes every derived key.
func DeriveKey(spec, purpose string) ([]byte, error) {
	first, _, _ := strings.Cut(spec, ",")
	_, b64, ok := strings.Cut(strings.TrimSpace(first), ":")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("PAYLOAD_KEYS: the first entry must be id:base64key of 32 bytes")
	}
	return hkdf.Key(sha256.New, raw, nil, "digitalpost "+purpose, 32)
}

// Seal encrypts a secret kept outside Temporal (a webhook's signing secret in PostgreSQL,
// say) with the active key, bound to aad (whose it is), as "<key id>:<base64 nonce+sealed>":
// a copy of the database alone does not give the secret away, and a sealed value moved to
// another row (another aad) does not open.
func (k *Keyring) Seal(plain, aad []byte) (string, error) {
	aead := k.aeads[k.active]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return k.active + ":" + base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, aad)), nil
}

// Open opens what Seal sealed with any key of the ring, for the same aad.
func (k *Keyring) Open(sealed string, aad []byte) ([]byte, error) {
	id, b64, ok := strings.Cut(sealed, ":")
	aead, known := k.aeads[id]
	raw, err := base64.StdEncoding.DecodeString(b64)
	switch {
	case !ok || err != nil:
		return nil, errors.New("not a sealed value")
	case !known:
		return nil, fmt.Errorf("sealed with key %q, which is not in PAYLOAD_KEYS", id)
	case len(raw) < aead.NonceSize():
		return nil, errors.New("sealed value is too short")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("sealed value does not open with key %q: %w", id, err)
	}
	return plain, nil
}

// Package codec encrypts every Temporal payload with AES-256-GCM, so histories stored on
// the Temporal server hold no personal data in plaintext. Each payload names the key that
// sealed it, so keys can rotate: new payloads use the active key, old ones stay readable
// as long as their key is still listed.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
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

// Codec is a converter.PayloadCodec.
type Codec struct{ keys *Keyring }

func New(keys *Keyring) *Codec { return &Codec{keys: keys} }

// Encode seals each payload whole (metadata and data) with the active key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	aead := c.keys.aeads[c.keys.active]
	for i, p := range payloads {
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

// Decode opens sealed payloads and passes others through unchanged.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[metaEncoding]) != Encoding {
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
		out[i] = &decoded
	}
	return out, nil
}

// DataConverter wraps the default converter with encryption.
func DataConverter(keys *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(keys))
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

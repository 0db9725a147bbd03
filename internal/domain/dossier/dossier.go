// Package dossier is a letter's delivery dossier: the evidence a sender hands to an appeals
// body that a letter was submitted, arrived (legal delivery), was notified, opened, printed
// and posted, each step with its time, signed with Ed25519 so that anyone can check offline
// that not a byte was changed. It carries no CPR number and no letter content.
//
// A dossier file is JSON laid out byte for byte as
//
//	{"record":RECORD,"signature":{"algorithm":"Ed25519","key_id":ID,"value":BASE64}}
//
// and the signature is over the bytes of RECORD exactly as they stand in the file. A PDF
// dossier is the record printed, with a last line after the PDF's end,
//
//	%DP-DOSSIER-SIGNATURE key_id=ID value=BASE64
//
// signing every byte before that line. Public keys are published (GET /v1/keys); old ones stay
// published after a rotation, so every dossier ever issued can be checked.
package dossier

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Format names the record's layout; a change of layout is a new format.
const Format = "digitalpost-dossier/1"

// Record is the evidence of one letter's way.
type Record struct {
	Format   string    `json:"format"`
	IssuedAt time.Time `json:"issued_at"`
	KeyID    string    `json:"key_id"`
	Letter   Letter    `json:"letter"`
	// LegalDeliveryAt: when the letter arrived (Lov om Digital Post § 10): available in the
	// mailbox, opened or not.
	LegalDeliveryAt *time.Time `json:"legal_delivery_at,omitempty"`
	Steps           []Step     `json:"steps"`
	Notices         []Notice   `json:"notices"`
	Openings        []Opening  `json:"openings"`
	PrintJobs       []PrintJob `json:"print_jobs"`
	Replies         []Reply    `json:"replies"`
}

// Letter says which letter, from whom, submitted how, and where it ended; never its content.
type Letter struct {
	ID          string    `json:"id"`
	MessageID   string    `json:"message_id"`
	SenderID    string    `json:"sender_id"`
	Sender      string    `json:"sender"`
	RecipientID string    `json:"recipient_id,omitempty"` // the registry's id, never the CPR number
	SubmittedAt time.Time `json:"submitted_at"`
	// SubmittedBy names the API key the letter came with ("api-key:ID"), or the entry point.
	SubmittedBy    string `json:"submitted_by"`
	BatchID        string `json:"batch_id,omitempty"`
	Status         string `json:"status"`
	Channel        string `json:"channel,omitempty"`
	Deadline       string `json:"deadline"`
	PostalCategory string `json:"postal_category"`
	// ContentSHA256 fingerprints what the sender handed in (text, documents, options): the sender
	// can show which letter this was without the dossier holding it.
	ContentSHA256 string `json:"content_sha256,omitempty"`
}

// Step is one change of the letter's status, as its events recorded it.
type Step struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"`
	Detail string    `json:"detail,omitempty"`
}

// Notice is one SMS or e-mail, without the number or address it went to.
type Notice struct {
	Channel           string    `json:"channel"`
	Purpose           string    `json:"purpose"`
	Outcome           string    `json:"outcome"`
	ProviderMessageID string    `json:"provider_message_id,omitempty"`
	Attempts          int       `json:"attempts"`
	At                time.Time `json:"at"`
}

// Opening is the letter opened in the mailbox, by its citizen or by a delegate with reading
// access (who, by role only).
type Opening struct {
	At time.Time `json:"at"`
	By string    `json:"by"` // citizen or delegate
}

// PrintJob is the letter (or a paper notice about it) sent to remote print, with the print
// house's receipts.
type PrintJob struct {
	JobID          string    `json:"job_id"`
	Purpose        string    `json:"purpose"` // paper-route, escalation, waiting-notice
	Reason         string    `json:"reason,omitempty"`
	Pages          int       `json:"pages"`
	PostalCategory string    `json:"postal_category,omitempty"`
	Outcome        string    `json:"outcome"`
	Receipts       []Receipt `json:"receipts"`
}

// Receipt is what the print house reported about a job.
type Receipt struct {
	Outcome    string    `json:"outcome"`
	At         time.Time `json:"at"`
	ReceivedAt time.Time `json:"received_at"`
	Effect     string    `json:"effect"`
}

// Reply is a citizen's reply to the letter: when, and its id (its text is not evidence of
// delivery and stays out).
type Reply struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// PublicKey is a key dossiers are verified with.
type PublicKey struct {
	ID      string `json:"key_id"`
	Key     string `json:"public_key"` // base64 of the 32-byte Ed25519 public key
	Current bool   `json:"current"`    // the key new dossiers are signed with
}

// Signer signs dossiers with the first of its keys and knows every key's public half.
type Signer struct {
	current string
	private map[string]ed25519.PrivateKey
	order   []string
}

var keyID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ParseKeys reads DOSSIER_SIGNING_KEYS: "id:base64seed[,id:base64seed…]", each seed 32 bytes;
// the first signs, all verify.
func ParseKeys(spec string) (*Signer, error) {
	s := &Signer{private: map[string]ed25519.PrivateKey{}}
	for i, entry := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || !keyID.MatchString(id) {
			return nil, fmt.Errorf("DOSSIER_SIGNING_KEYS: entry %d must be id:base64seed, the id 1–64 letters, digits, dots, dashes or underscores", i+1)
		}
		seed, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("DOSSIER_SIGNING_KEYS: key %q must be a 32-byte Ed25519 seed in base64", id)
		}
		if _, dup := s.private[id]; dup {
			return nil, fmt.Errorf("DOSSIER_SIGNING_KEYS: key id %q appears twice", id)
		}
		s.private[id] = ed25519.NewKeyFromSeed(seed)
		s.order = append(s.order, id)
		if i == 0 {
			s.current = id
		}
	}
	return s, nil
}

// NewKeySpec makes a fresh signing key entry, "id:base64seed".
func NewKeySpec(id string) string {
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed)
	return id + ":" + base64.StdEncoding.EncodeToString(seed)
}

// CurrentKey is the id of the key new dossiers are signed with.
func (s *Signer) CurrentKey() string { return s.current }

// PublicKeys are every key's public half, the current one first.
func (s *Signer) PublicKeys() []PublicKey {
	out := make([]PublicKey, 0, len(s.order))
	for _, id := range s.order {
		pub := s.private[id].Public().(ed25519.PublicKey)
		out = append(out, PublicKey{ID: id, Key: base64.StdEncoding.EncodeToString(pub), Current: id == s.current})
	}
	return out
}

// Seal completes the record (format, issue time, key) and answers the signed JSON file.
func (s *Signer) Seal(r Record, now time.Time) ([]byte, error) {
	r.Format, r.IssuedAt, r.KeyID = Format, now.UTC().Truncate(time.Second), s.current
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	record := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	sig := ed25519.Sign(s.private[s.current], record)
	var out bytes.Buffer
	out.WriteString(`{"record":`)
	out.Write(record)
	fmt.Fprintf(&out, `,"signature":{"algorithm":"Ed25519","key_id":%q,"value":%q}}`+"\n", s.current, base64.StdEncoding.EncodeToString(sig))
	return out.Bytes(), nil
}

// SealPDF appends the signature line to a PDF: every byte before it is signed.
func (s *Signer) SealPDF(pdf []byte) []byte {
	body := append(bytes.TrimRight(pdf, "\r\n"), '\n')
	sig := ed25519.Sign(s.private[s.current], body)
	return fmt.Appendf(body, "%s key_id=%s value=%s\n", pdfMarker, s.current, base64.StdEncoding.EncodeToString(sig))
}

const pdfMarker = "%DP-DOSSIER-SIGNATURE"

// ErrBadSignature: the file was changed after it was signed, or signed by another key.
var ErrBadSignature = errors.New("the signature does not match: the dossier was changed after it was signed, or is not signed by this key")

// Keys finds a public key by id; ok false when there is none.
type Keys func(id string) (ed25519.PublicKey, bool)

// KeysOf is a Keys over published keys.
func KeysOf(published []PublicKey) Keys {
	return func(id string) (ed25519.PublicKey, bool) {
		for _, k := range published {
			if k.ID == id {
				b, err := base64.StdEncoding.DecodeString(k.Key)
				return ed25519.PublicKey(b), err == nil && len(b) == ed25519.PublicKeySize
			}
		}
		return nil, false
	}
}

// Verify checks a dossier file, JSON or PDF, against the published keys, and answers the key it
// was signed with and, for JSON, the record.
func Verify(file []byte, keys Keys) (keyID string, r *Record, err error) {
	if bytes.HasPrefix(file, []byte("%PDF")) {
		keyID, err = verifyPDF(file, keys)
		return keyID, nil, err
	}
	// The file is read by its layout, byte for byte, not as any JSON would be: a second "record"
	// (JSON lets the last one win, and names match in any case) must not let the check vouch
	// for bytes other than those a reader sees.
	const head, sigKey = `{"record":`, `,"signature":`
	body := bytes.TrimSuffix(file, []byte("\n"))
	i := bytes.LastIndex(body, []byte(sigKey))
	if !bytes.HasPrefix(body, []byte(head)) || i < len(head) || !bytes.HasSuffix(body, []byte("}")) {
		return "", nil, errors.New(`not a dossier: it must be laid out as {"record":…,"signature":{…}}, or be a PDF dossier`)
	}
	record, tail := body[len(head):i], body[i+len(sigKey):len(body)-1]
	var sig struct {
		Algorithm string `json:"algorithm"`
		KeyID     string `json:"key_id"`
		Value     string `json:"value"`
	}
	dec := json.NewDecoder(bytes.NewReader(tail))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sig); err != nil || dec.More() {
		return "", nil, errors.New("not a dossier: its signature is not {\"algorithm\",\"key_id\",\"value\"}")
	}
	if sig.Algorithm != "Ed25519" {
		return "", nil, fmt.Errorf("signed with %q; dossiers are signed with Ed25519", sig.Algorithm)
	}
	if err := check(keys, sig.KeyID, record, sig.Value); err != nil {
		return sig.KeyID, nil, err
	}
	var rec Record
	if err := json.Unmarshal(record, &rec); err != nil {
		return sig.KeyID, nil, fmt.Errorf("the signed record is not a dossier record: %w", err)
	}
	if rec.KeyID != sig.KeyID {
		return sig.KeyID, nil, fmt.Errorf("the record names key %q but is signed with %q", rec.KeyID, sig.KeyID)
	}
	return sig.KeyID, &rec, nil
}

// pdfSignature is the PDF's last line, exactly: nothing may follow it (an incremental update
// appended after it would change what a viewer shows).
var pdfSignature = regexp.MustCompile(`\n` + pdfMarker + ` key_id=([A-Za-z0-9._-]{1,64}) value=([A-Za-z0-9+/=]+)\n\z`)

func verifyPDF(file []byte, keys Keys) (string, error) {
	m := pdfSignature.FindSubmatchIndex(file)
	if m == nil {
		return "", errors.New("a PDF whose last line is not a dossier signature (" + pdfMarker + " key_id=… value=…), or with bytes after it")
	}
	id, value := string(file[m[2]:m[3]]), string(file[m[4]:m[5]])
	return id, check(keys, id, file[:m[0]+1], value)
}

func check(keys Keys, id string, signed []byte, value string) error {
	pub, ok := keys(id)
	if !ok {
		return fmt.Errorf("signed with key %q, which is not among the published keys (GET /v1/keys)", id)
	}
	sig, err := base64.StdEncoding.DecodeString(value)
	if err != nil || !ed25519.Verify(pub, signed, sig) {
		return ErrBadSignature
	}
	return nil
}

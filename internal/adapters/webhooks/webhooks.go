// Package webhooks posts a sender's letter events to the URL the sender gave, signed as the
// Standard Webhooks specification describes, in feed order, at least once: an event is
// retried with backoff until the receiver takes it or GiveUpAfter has passed, and then
// recorded as failed for the sender to see.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/domain/events"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/infra/codec"
)

// GiveUpAfter is how long one event is retried before it is recorded as failed and the
// feed moves on. The floor is 24 hours; three days cover a long weekend's outage.
const GiveUpAfter = 72 * time.Hour

// ErrNone: the sender has no webhook.
var ErrNone = errors.New("no webhook is set")

// Hooks keeps the senders' webhooks and delivers to them.
type Hooks struct {
	db   *pgxpool.Pool
	feed *events.Feed
	// AllowHTTP lets a webhook use http:// (the dev runtime and tests); production needs https.
	AllowHTTP bool
	// AllowInternal lets a webhook reach internal and special-purpose addresses, this machine
	// included (the dev runtime and tests); never in production, whatever the scheme.
	AllowInternal bool
	Client        *http.Client
	// Secrets seals the signing secrets where they are stored (PAYLOAD_KEYS): a copy of the
	// database, a backup or a replica, does not let anyone sign events as us. Nil: stored as
	// they are (a process without keys; secrets stored so before are read either way).
	Secrets *codec.Keyring
	// Now is the clock the retry window (GiveUpAfter) is measured on; nil: time.Now. Tests
	// move it forward three days instead of waiting for them.
	Now func() time.Time
}

func (h *Hooks) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// New returns the webhooks on db.
func New(db *pgxpool.Pool, feed *events.Feed) *Hooks {
	h := &Hooks{db: db, feed: feed}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: h.refuseInternal}
	h.Client = &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 5 * time.Second, MaxIdleConnsPerHost: 2},
		// A receiver that redirects is misconfigured; following it would post the sender's
		// events to wherever the redirect points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return h
}

// refuseInternal keeps a sender's webhook from reaching this system's own network (its
// database, Temporal, a cloud metadata service): the address is checked when the connection
// is made, after DNS, so a name that later resolves inward is refused too. AllowInternal
// (the dev runtime, tests) lets receivers on this machine through.
func (h *Hooks) refuseInternal(_, address string, _ syscall.RawConn) error {
	if h.AllowInternal {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !Public(ip) {
		return fmt.Errorf("webhook address %s is on an internal network; receivers must be reachable on the internet", host)
	}
	return nil
}

// notPublic are the special-purpose ranges of IANA's registries that a receiver on the
// internet never has: private, shared (carrier-grade NAT, cloud metadata at 100.100.100.200),
// loopback, link-local (169.254.169.254), documentation, benchmarking, multicast, reserved,
// and the IPv6 ranges that carry IPv4 inside (local NAT64, 6to4, Teredo), so an internal IPv4
// address cannot come in wrapped; the well-known NAT64 prefix is unwrapped instead (Public).
var notPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, p := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
		"2002::/16", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		ps = append(ps, netip.MustParsePrefix(p))
	}
	return ps
}()

// nat64 is the well-known NAT64 prefix: on an IPv6-only network with DNS64 every IPv4-only
// receiver resolves into it, so the IPv4 address inside is judged instead.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Public tells whether ip is an address a receiver on the internet may have. An IPv4 address
// written as IPv6 (::ffff:127.0.0.1, or NAT64's 64:ff9b::a.b.c.d) is judged as the IPv4
// address it is.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !ip.IsValid() || ip.Zone() != "" {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Webhook is a sender's webhook as the sender sees it.
type Webhook struct {
	SenderID      string
	URL           string
	Secret        string // only when it was just set
	CreatedAt     time.Time
	Delivered     int64
	Attempts      int        // tries of the next event so far
	FailingSince  *time.Time // the receiver has not taken the next event since then
	LastAttemptAt *time.Time
	LastError     string
	Failures      []Failure // events given up on, newest first (at most 100)
}

// Failure is an event the receiver did not take within GiveUpAfter.
type Failure struct {
	EventID  string
	LetterID string // "" for a message written first
	Kind     string // the event's type; a bare letter status for failures recorded before types were
	Attempts int
	Error    string
	FailedAt time.Time
}

// Type is the failed event's type, as the feed names it.
func (f Failure) Type() string {
	if strings.Contains(f.Kind, ".") {
		return f.Kind
	}
	return events.TypeOf(f.Kind)
}

// CheckURL is the rule a webhook URL must follow.
func (h *Hooks) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return &fielderr.Error{Field: "url", Rule: "must not be empty"}
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return &fielderr.Error{Field: "url", Rule: "must be an absolute https URL"}
	case u.Scheme == "http" && !h.AllowHTTP:
		return &fielderr.Error{Field: "url", Rule: "must use https (events carry letter ids and are signed, but not encrypted, over http)"}
	case u.User != nil:
		return &fielderr.Error{Field: "url", Rule: "must not carry a user name or password; verify the signature instead"}
	case len(raw) > 2000:
		return &fielderr.Error{Field: "url", Rule: "must be at most 2,000 characters"}
	}
	return nil
}

// Set gives a sender a webhook, or a new URL, with a new signing secret. Delivery starts
// from events after this moment: a new webhook does not replay the sender's whole history
// (GET /v1/events has it). Changing the URL keeps the place in the feed.
func (h *Hooks) Set(ctx context.Context, senderID, rawURL string) (Webhook, error) {
	if err := h.CheckURL(rawURL); err != nil {
		return Webhook{}, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	w := Webhook{SenderID: senderID, URL: rawURL, Secret: secret}
	stored, err := h.sealSecret(senderID, secret)
	if err != nil {
		return Webhook{}, err
	}
	err = h.db.QueryRow(ctx, `
		WITH head AS (
			SELECT xid, seq FROM letter_events WHERE sender_id = $1 ORDER BY xid DESC, seq DESC LIMIT 1
		)
		INSERT INTO webhooks (sender_id, url, secret, cursor_xid, cursor_seq)
		VALUES ($1, $2, $3, (SELECT xid FROM head), (SELECT seq FROM head))
		ON CONFLICT (sender_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated_at = now(),
			attempts = 0, failing_since = NULL, last_error = ''
		RETURNING created_at`, senderID, rawURL, stored).Scan(&w.CreatedAt)
	return w, err
}

// sealedPrefix marks a stored secret that is sealed; one stored before sealing starts whsec_.
const sealedPrefix = "sealed:"

func (h *Hooks) sealSecret(senderID, secret string) (string, error) {
	if h.Secrets == nil {
		return secret, nil
	}
	sealed, err := h.Secrets.Seal([]byte(secret), []byte("webhook secret "+senderID))
	return sealedPrefix + sealed, err
}

// sealStoredSecret seals a secret stored before secrets were sealed, in place, the first time
// it is used: no plaintext secret is left once every webhook has delivered once.
func (h *Hooks) sealStoredSecret(ctx context.Context, senderID, stored string) error {
	if h.Secrets == nil || strings.HasPrefix(stored, sealedPrefix) {
		return nil
	}
	sealed, err := h.sealSecret(senderID, stored)
	if err != nil {
		return err
	}
	_, err = h.db.Exec(ctx, `UPDATE webhooks SET secret = $3 WHERE sender_id = $1 AND secret = $2`, senderID, stored, sealed)
	return err
}

func (h *Hooks) openSecret(senderID, stored string) (string, error) {
	sealed, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, nil
	}
	if h.Secrets == nil {
		return "", errors.New("the webhook secret is sealed and this process has no PAYLOAD_KEYS")
	}
	plain, err := h.Secrets.Open(sealed, []byte("webhook secret "+senderID))
	return string(plain), err
}

// Remove deletes a sender's webhook; its delivery workflow ends at its next look.
func (h *Hooks) Remove(ctx context.Context, senderID string) error {
	tag, err := h.db.Exec(ctx, `DELETE FROM webhooks WHERE sender_id = $1`, senderID)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNone
	}
	return err
}

// Get shows a sender's webhook and how its deliveries go, without the secret.
func (h *Hooks) Get(ctx context.Context, senderID string) (Webhook, error) {
	w := Webhook{SenderID: senderID}
	err := h.db.QueryRow(ctx, `SELECT url, created_at, delivered, attempts, failing_since, last_attempt_at, last_error
		FROM webhooks WHERE sender_id = $1`, senderID).
		Scan(&w.URL, &w.CreatedAt, &w.Delivered, &w.Attempts, &w.FailingSince, &w.LastAttemptAt, &w.LastError)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, ErrNone
	}
	if err != nil {
		return w, err
	}
	rows, err := h.db.Query(ctx, `SELECT event_id, coalesce(letter_id::text, ''), kind, attempts, error, failed_at
		FROM webhook_failures WHERE sender_id = $1 ORDER BY failed_at DESC LIMIT 100`, senderID)
	if err != nil {
		return w, err
	}
	w.Failures, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Failure, error) {
		var f Failure
		return f, r.Scan(&f.EventID, &f.LetterID, &f.Kind, &f.Attempts, &f.Error, &f.FailedAt)
	})
	return w, err
}

// Senders lists the senders that have a webhook (the recovery sweep keeps their delivery
// workflows running).
func (h *Hooks) Senders(ctx context.Context) ([]string, error) {
	rows, err := h.db.Query(ctx, `SELECT sender_id FROM webhooks ORDER BY sender_id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Payload is the JSON body of one webhook call, in the Standard Webhooks shape.
type Payload struct {
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Data      PayloadData `json:"data"`
}

// PayloadData is the event itself. A letter's events carry the letter; a status change its
// new status; a citizen's reply or message its id, to fetch it with GET /v1/messages/{id}.
type PayloadData struct {
	EventID          string     `json:"event_id"`
	LetterID         string     `json:"letter_id,omitempty"`
	MessageID        string     `json:"message_id,omitempty"`
	Status           string     `json:"status,omitempty"`
	Channel          string     `json:"channel,omitempty"`
	Reason           string     `json:"reason,omitempty"`
	CitizenMessageID string     `json:"citizen_message_id,omitempty"`
	LegalDeliveryAt  *time.Time `json:"legal_delivery_at,omitempty"`
	At               time.Time  `json:"at"`
}

// PayloadFor is the body posted for an event.
func PayloadFor(e events.Event) Payload {
	d := PayloadData{EventID: e.ID, MessageID: e.MessageID, Channel: e.Channel, Reason: e.Reason, At: e.At.UTC()}
	if e.LetterID != uuid.Nil {
		d.LetterID = e.LetterID.String()
	}
	if e.LegalDeliveryAt != nil {
		at := e.LegalDeliveryAt.UTC()
		d.LegalDeliveryAt = &at
	}
	switch {
	case e.StatusChange():
		d.Status = e.Kind
	case e.CitizenMessageID != nil:
		d.CitizenMessageID = e.CitizenMessageID.String()
	}
	return Payload{Type: e.Type(), Timestamp: e.At.UTC(), Data: d}
}

// letterOf is an event's letter for a column that is NULL for a message written first.
func letterOf(e events.Event) *uuid.UUID {
	if e.LetterID == uuid.Nil {
		return nil
	}
	return &e.LetterID
}

// Sign returns the webhook-signature header value for a message: "v1," and the base64
// HMAC-SHA256, keyed with the secret's bytes, of "id.timestamp.body".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Round says what one delivery round did.
type Round struct {
	Delivered int
	GivenUp   int
	Removed   bool // the sender has no webhook any more
}

// RetryLater is a receiver that did not take an event: the caller retries after a backoff.
type RetryLater struct{ Err string }

func (r *RetryLater) Error() string { return "webhook receiver did not take the event: " + r.Err }

// Deliver posts the sender's pending events in feed order, and waits for new ones, for
// budget. beat is called between events (an activity heartbeat).
// A receiver that fails an event stops the round with *RetryLater, unless the event has
// failed for GiveUpAfter, when it is recorded as failed and the round goes on.
func (h *Hooks) Deliver(ctx context.Context, senderID string, budget time.Duration, beat func()) (Round, error) {
	var r Round
	start := time.Now()
	for time.Since(start) < budget {
		var hook struct {
			url, secret  string
			xid          *string
			seq          *int64
			attempts     int
			failingSince *time.Time
		}
		err := h.db.QueryRow(ctx, `SELECT url, secret, cursor_xid::text, cursor_seq, attempts, failing_since
			FROM webhooks WHERE sender_id = $1`, senderID).
			Scan(&hook.url, &hook.secret, &hook.xid, &hook.seq, &hook.attempts, &hook.failingSince)
		if errors.Is(err, pgx.ErrNoRows) {
			r.Removed = true
			return r, nil
		}
		if err == nil {
			err = h.sealStoredSecret(ctx, senderID, hook.secret)
		}
		if err == nil {
			hook.secret, err = h.openSecret(senderID, hook.secret)
		}
		if err != nil {
			return r, err
		}
		var after events.Cursor
		if hook.xid != nil {
			if after, err = events.ParseCursor(*hook.xid + "." + strconv.FormatInt(*hook.seq, 10)); err != nil {
				return r, err
			}
		}
		pending, err := h.feed.After(ctx, senderID, after, 100)
		if err != nil {
			return r, err
		}
		if len(pending) == 0 {
			beat()
			select {
			case <-ctx.Done():
				return r, ctx.Err()
			case <-time.After(time.Second):
			}
			continue
		}
		for _, e := range pending {
			beat()
			callErr := h.post(ctx, hook.url, hook.secret, e)
			if callErr == nil {
				if err := h.advance(ctx, senderID, e, true); err != nil {
					return r, err
				}
				r.Delivered++
				hook.attempts, hook.failingSince = 0, nil
				continue
			}
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			hook.attempts++
			if hook.failingSince != nil && h.now().Sub(*hook.failingSince) > GiveUpAfter {
				if _, err := h.db.Exec(ctx, `INSERT INTO webhook_failures (sender_id, event_id, letter_id, kind, attempts, error)
					VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
					senderID, e.ID, letterOf(e), e.Type(), hook.attempts, callErr.Error()); err != nil {
					return r, err
				}
				if err := h.advance(ctx, senderID, e, false); err != nil {
					return r, err
				}
				r.GivenUp++
				hook.attempts, hook.failingSince = 0, nil
				continue
			}
			if _, err := h.db.Exec(ctx, `UPDATE webhooks SET attempts = attempts + 1, last_attempt_at = now(),
				failing_since = coalesce(failing_since, now()), last_error = $2 WHERE sender_id = $1`,
				senderID, callErr.Error()); err != nil {
				return r, err
			}
			return r, &RetryLater{Err: callErr.Error()}
		}
	}
	return r, nil
}

// advance moves the sender's cursor past an event, delivered or given up on.
func (h *Hooks) advance(ctx context.Context, senderID string, e events.Event, delivered bool) error {
	x, q, _ := strings.Cut(e.Cursor.String(), ".")
	_, err := h.db.Exec(ctx, `UPDATE webhooks SET cursor_xid = $2::text::xid8, cursor_seq = $3::bigint,
		delivered = delivered + CASE WHEN $4 THEN 1 ELSE 0 END, attempts = 0, failing_since = NULL,
		last_attempt_at = now(), last_error = '' WHERE sender_id = $1`, senderID, x, q, delivered)
	return err
}

// post makes one webhook call. Any 2xx is taken; anything else, or no answer, is a failure.
func (h *Hooks) post(ctx context.Context, target, secret string, e events.Event) error {
	body, err := json.Marshal(PayloadFor(e))
	if err != nil {
		return err
	}
	ts := time.Now().Unix()
	sig, err := Sign(secret, e.ID, ts, body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "digitalpost-webhooks/1")
	req.Header.Set("webhook-id", e.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := h.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

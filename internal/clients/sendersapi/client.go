// Package sendersapi is a client of the senders' HTTP API (internal/clients/api,
// openapi.yaml) for the command line. It holds one sender's key and can do only what that key
// may: the API decides the sender, and another sender's letter does not exist for it. Its
// types are the API's JSON, field for field; TestTheCommandLineSpeaksTheContract checks every
// request it makes and every answer it reads against the served OpenAPI document.
package sendersapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"digitalpost/internal/clients/api/wire"
	"digitalpost/internal/domain/fielderr"
)

// DefaultBaseURL is where the dev runtime and a single process serve the API (HTTP_ADDR).
const DefaultBaseURL = "http://127.0.0.1:8080"

// Client calls the API at BaseURL with Key.
type Client struct {
	BaseURL string
	Key     string
	HTTP    *http.Client
	// OnRefusal, when set, turns the API's refusals into the errors the caller returns.
	OnRefusal func(*Problem) error
}

// New is a client of the API at base (DefaultBaseURL when empty) with a sender's key.
func New(base, key string) *Client {
	if base == "" {
		base = DefaultBaseURL
	}
	return &Client{BaseURL: strings.TrimRight(base, "/"), Key: key, HTTP: &http.Client{Timeout: 2 * time.Minute}}
}

// The API's JSON, as the server writes it (package wire).
type (
	Letter        = wire.Letter
	Notice        = wire.Notice
	PrintJob      = wire.PrintJob
	Event         = wire.Event
	LetterPage    = wire.LetterPage
	Batch         = wire.BatchAccepted
	BatchProgress = wire.BatchProgress
	Preview       = wire.Preview
	Postage       = wire.Postage
	LetterRequest = wire.LetterRequest
	Document      = wire.Document
	Message       = wire.CitizenMessage
	MessagePage   = wire.MessagePage
)

// NewDocument encloses a file's bytes (sent base64-encoded, as the API takes them).
var NewDocument = wire.NewDocument

// Sent is the API's answer to a letter handed in: the letter, and whether it was there already.
type Sent struct {
	Letter
	Duplicate bool
}

// SendLetter hands in one letter. The same message_id again returns the stored letter
// (Duplicate) and sends nothing twice.
func (c *Client) SendLetter(ctx context.Context, r LetterRequest) (Sent, error) {
	var l Letter
	status, err := c.call(ctx, http.MethodPost, "/v1/letters", nil, r, &l)
	return Sent{Letter: l, Duplicate: status == http.StatusOK}, err
}

// Letter is one of the sender's letters with its notices, print jobs and timeline.
func (c *Client) Letter(ctx context.Context, id string) (Letter, error) {
	var l Letter
	_, err := c.call(ctx, http.MethodGet, "/v1/letters/"+url.PathEscape(id), nil, nil, &l)
	return l, err
}

// Letters lists the sender's letters, newest first: status "" for all, limit 0 for the API's
// default, cursor "" for the first page.
func (c *Client) Letters(ctx context.Context, status string, limit int, cursor string) (LetterPage, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var p LetterPage
	_, err := c.call(ctx, http.MethodGet, "/v1/letters", q, nil, &p)
	return p, err
}

// Withdraw takes a letter back before it is opened or printed.
func (c *Client) Withdraw(ctx context.Context, id, reason string) (Letter, error) {
	var l Letter
	_, err := c.call(ctx, http.MethodPost, "/v1/letters/"+url.PathEscape(id)+"/withdraw", nil,
		map[string]string{"reason": reason}, &l)
	return l, err
}

// MoveAppointment moves the appointment a letter calls to (RFC 3339, or 2027-01-12T10:30 in
// Danish time); its NemSMS reminder follows.
func (c *Client) MoveAppointment(ctx context.Context, id, at string) (Letter, error) {
	var l Letter
	_, err := c.call(ctx, http.MethodPost, "/v1/letters/"+url.PathEscape(id)+"/appointment", nil,
		map[string]string{"appointment_at": at}, &l)
	return l, err
}

// NemSMS is the API's answer to a NemSMS message sent: the message, and whether it was there
// already.
type NemSMS struct {
	wire.NemSMS
	Duplicate bool
}

// SendNemSMS sends a short message to a citizen who signed up for NemSMS.
func (c *Client) SendNemSMS(ctx context.Context, messageID, recipientCPR, text string) (NemSMS, error) {
	var m NemSMS
	status, err := c.call(ctx, http.MethodPost, "/v1/nemsms", nil,
		map[string]string{"message_id": messageID, "recipient_cpr": recipientCPR, "text": text}, &m.NemSMS)
	m.Duplicate = status == http.StatusOK
	return m, err
}

// NemSMSMessage is one of the sender's NemSMS messages.
func (c *Client) NemSMSMessage(ctx context.Context, id string) (wire.NemSMS, error) {
	var m wire.NemSMS
	_, err := c.call(ctx, http.MethodGet, "/v1/nemsms/"+url.PathEscape(id), nil, nil, &m)
	return m, err
}

// BatchOptions apply to the letters of a run that give none of their own.
type BatchOptions struct {
	Deadline string // 72h or 3wd
	Urgency  string // bulk (the API's default) or urgent
}

// SubmitBatch hands in a run of letters, all or nothing, as NDJSON: one LetterRequest a line.
func (c *Client) SubmitBatch(ctx context.Context, run []LetterRequest, o BatchOptions) (Batch, error) {
	var b Batch
	return b, c.postBatch(ctx, run, batchQuery(o, false), &b)
}

// PreviewBatch asks what a run would do, writing nothing.
func (c *Client) PreviewBatch(ctx context.Context, run []LetterRequest, o BatchOptions) (Preview, error) {
	var p Preview
	return p, c.postBatch(ctx, run, batchQuery(o, true), &p)
}

func (c *Client) postBatch(ctx context.Context, run []LetterRequest, q url.Values, out any) error {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for _, r := range run {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	_, err := c.send(ctx, http.MethodPost, "/v1/batches", q, "application/x-ndjson", &body, out)
	return err
}

func batchQuery(o BatchOptions, dryRun bool) url.Values {
	q := url.Values{}
	if dryRun {
		q.Set("dry_run", "true")
	}
	if o.Deadline != "" {
		q.Set("deadline", o.Deadline)
	}
	if o.Urgency != "" {
		q.Set("urgency", o.Urgency)
	}
	return q
}

// BatchProgress is how far a run has come.
func (c *Client) BatchProgress(ctx context.Context, id string) (BatchProgress, error) {
	var p BatchProgress
	_, err := c.call(ctx, http.MethodGet, "/v1/batches/"+url.PathEscape(id), nil, nil, &p)
	return p, err
}

// Problem is the API's refusal (RFC 9457 problem details). Bad input carries the fields and
// the rules they broke, as fielderr does on this side.
type Problem struct{ wire.Problem }

func (p *Problem) Error() string {
	msg := p.Title
	if p.Detail != "" {
		msg += ": " + p.Detail
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, p.Status)
}

// Unwrap gives bad input as the fields and rules it broke, so that the command line shows it
// as it shows its own checks, one rule a line.
func (p *Problem) Unwrap() error {
	if len(p.Errors) == 0 {
		return nil
	}
	var list fielderr.List
	for _, f := range p.Errors {
		list.Add(f.Field, f.Rule)
	}
	return list
}

// Refused reports whether the API turned the request away for what it asked (bad input, the
// letter's state, a conflict, another sender's letter), rather than failing.
func (p *Problem) Refused() bool {
	switch p.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return false // the caller's credentials or the API's load, not what was asked
	}
	return p.Status >= 400 && p.Status < 500
}

func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) (int, error) {
	var body io.Reader
	contentType := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	return c.send(ctx, method, path, q, contentType, body, out)
}

func (c *Client) send(ctx context.Context, method, path string, q url.Values, contentType string, body io.Reader, out any) (int, error) {
	u := c.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("the senders' API at %s: %w (is the system running? `go run ./worker -dev`, or set DIGITALPOST_API)", c.BaseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		p := &Problem{}
		if json.Unmarshal(b, &p.Problem) != nil || p.Title == "" {
			p.Title = http.StatusText(resp.StatusCode)
		}
		p.Status = resp.StatusCode
		if c.OnRefusal != nil {
			return resp.StatusCode, c.OnRefusal(p)
		}
		return resp.StatusCode, p
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: the answer is not the API's JSON: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Messages lists citizens' replies and messages to the sender, newest first: kind "" for
// both, handled "" for either, limit 0 for the API's default.
func (c *Client) Messages(ctx context.Context, kind, handled string, limit int, cursor string) (MessagePage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"kind": kind, "handled": handled, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p MessagePage
	_, err := c.call(ctx, http.MethodGet, "/v1/messages", q, nil, &p)
	return p, err
}

// Message is one reply or message with its text and attachments.
func (c *Client) Message(ctx context.Context, id string) (Message, error) {
	var m Message
	_, err := c.call(ctx, http.MethodGet, "/v1/messages/"+url.PathEscape(id), nil, nil, &m)
	return m, err
}

// MarkHandled records that the sender dealt with a reply or message.
func (c *Client) MarkHandled(ctx context.Context, id string) (Message, error) {
	var m Message
	_, err := c.call(ctx, http.MethodPost, "/v1/messages/"+url.PathEscape(id)+"/handled", nil, nil, &m)
	return m, err
}

// Attachment fetches an attached file by the href a message lists.
func (c *Client) Attachment(ctx context.Context, href string) ([]byte, error) {
	if !strings.HasPrefix(href, "/v1/messages/") {
		return nil, fmt.Errorf("%q is not an attachment's link", href)
	}
	return c.download(ctx, href, true)
}

// Dossier fetches a letter's signed delivery dossier: the JSON, or the PDF. The bytes are kept
// exactly as signed.
func (c *Client) Dossier(ctx context.Context, id string, pdf bool) ([]byte, error) {
	path := "/v1/letters/" + url.PathEscape(id) + "/dossier"
	if pdf {
		path += "?format=pdf"
	}
	return c.download(ctx, path, true)
}

// DossierKeys fetches the published keys dossiers verify with, as GET /v1/keys answers them.
func (c *Client) DossierKeys(ctx context.Context) ([]byte, error) {
	return c.download(ctx, "/v1/keys", false)
}

// download GETs raw bytes (an attachment, a dossier, the keys), with the key when asked.
func (c *Client) download(ctx context.Context, path string, withKey bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return nil, err
	}
	if withKey {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the senders' API at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		p := &Problem{}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&p.Problem)
		p.Status = resp.StatusCode
		if p.Title == "" {
			p.Title = http.StatusText(resp.StatusCode)
		}
		return nil, p
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

// IsNotFound reports whether err is the API's 404: no such thing, or not this sender's.
func IsNotFound(err error) bool {
	var p *Problem
	return errors.As(err, &p) && p.Status == http.StatusNotFound
}

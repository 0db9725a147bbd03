package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"
	"github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"
	twapi "github.com/twilio/twilio-go/rest/api/v2010"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"digitalpost/internal/infra/telemetry"
)

// Provider hands one notice to an outside service and returns its id for the message.
// An error wrapping ErrRejected or ErrNotDelivered is definite; any other error means the
// outcome is unknown (the request may have gone out).
type Provider interface {
	Send(ctx context.Context, n Notice) (providerID string, err error)
}

// Twilio sends SMS through the real twilio-go client.
type Twilio struct {
	accountSID, authToken string
	http                  *http.Client
	from                  string
}

// NewTwilio builds the SMS provider. baseURL, when set, sends every request to that
// host instead of api.twilio.com (tests and the bench use a local server speaking the API).
func NewTwilio(accountSID, authToken, from, baseURL string, timeout time.Duration) (*Twilio, error) {
	// CreateMessage takes no context: the client must time out.
	hc := &http.Client{Timeout: timeout, Transport: traced("twilio", http.DefaultTransport)}
	if baseURL != "" {
		u, err := url.Parse(baseURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("TWILIO_BASE_URL: must be an absolute URL")
		}
		hc.Transport = redirectHost{to: u, next: hc.Transport}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Twilio{accountSID: accountSID, authToken: authToken, http: hc, from: from}, nil
}

// api builds a client for one call. twilio-go's errors carry no response headers, so each
// call gets its own transport wrapper that keeps the Retry-After of a 429; and since its
// requests carry no context, the wrapper also hands them the span of ctx, so the call is a
// child of the activity that made it. The connection pool underneath is shared.
func (t *Twilio) api(ctx context.Context, seen *http.Header) *twapi.ApiService {
	hc := *t.http
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = keepHeaders{into: seen, next: spanOf{ctx: ctx, next: next}}
	base := &twclient.Client{Credentials: twclient.NewCredentials(t.accountSID, t.authToken), HTTPClient: &hc}
	base.SetAccountSid(t.accountSID)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Username: t.accountSID, Password: t.authToken,
		AccountSid: t.accountSID, Client: base}).Api
}

// Twilio error codes that no retry can fix: invalid To, not a mobile number, unsubscribed,
// unreachable destination, blocked by carrier.
var twilioPermanent = map[int]bool{21211: true, 21214: true, 21408: true, 21610: true, 21612: true, 21614: true, 30003: true, 30005: true, 30006: true}

func (t *Twilio) Send(ctx context.Context, n Notice) (string, error) {
	p := &twapi.CreateMessageParams{}
	p.SetTo(n.To).SetFrom(t.from).SetBody(n.Body)
	var seen http.Header
	msg, err := t.api(ctx, &seen).CreateMessage(p)
	var rest *twclient.TwilioRestError
	switch {
	case errors.As(err, &rest) && (twilioPermanent[rest.Code] || rest.Status == 400):
		// Twilio's message quotes the number it refused; the refusal reaches the letter's
		// timeline, which the sender sees, and a sender knows the recipient by CPR number only.
		return "", fmt.Errorf("twilio %d: %s: %w", rest.Code, telemetry.Redact(rest.Message), ErrRejected)
	case errors.As(err, &rest) && rest.Status == http.StatusTooManyRequests:
		return "", &SlowDown{After: retryAfter(seen), Err: fmt.Errorf("twilio 429 code %d: %w", rest.Code, ErrNotDelivered)}
	case errors.As(err, &rest):
		return "", fmt.Errorf("twilio status %d code %d: %w", rest.Status, rest.Code, ErrNotDelivered)
	case err != nil:
		return "", fmt.Errorf("twilio: %w", err)
	}
	if msg.Sid == nil {
		return "", nil
	}
	return *msg.Sid, nil
}

// SendGrid sends e-mail through the real sendgrid-go client.
type SendGrid struct {
	key, baseURL, from, fromName string
	client                       *rest.Client
}

// NewSendGrid builds the e-mail provider; baseURL "" is SendGrid's own API.
func NewSendGrid(apiKey, from, fromName, baseURL string, timeout time.Duration) *SendGrid {
	return &SendGrid{key: apiKey, baseURL: baseURL, from: from, fromName: fromName,
		client: &rest.Client{HTTPClient: &http.Client{Timeout: timeout, Transport: traced("sendgrid", http.DefaultTransport)}}}
}

func (s *SendGrid) Send(ctx context.Context, n Notice) (string, error) {
	m := mail.NewSingleEmailPlainText(mail.NewEmail(s.fromName, s.from), n.Subject, mail.NewEmail("", n.To), n.Body)
	req := sendgrid.GetRequest(s.key, "/v3/mail/send", s.baseURL)
	req.Method = rest.Post
	req.Body = mail.GetRequestBody(m)
	resp, err := s.client.SendWithContext(ctx, req)
	if err != nil {
		return "", fmt.Errorf("sendgrid: %w", err)
	}
	// A non-2xx answer is not an error to the SDK: check it ourselves (202 is success).
	switch {
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK:
		return firstHeader(resp.Headers, "X-Message-Id"), nil
	case resp.StatusCode == http.StatusBadRequest:
		return "", fmt.Errorf("sendgrid 400: %s: %w", truncate(resp.Body, 200), ErrRejected)
	case resp.StatusCode == http.StatusTooManyRequests:
		return "", &SlowDown{After: retryAfter(http.Header(resp.Headers)), Err: fmt.Errorf("sendgrid 429: %w", ErrNotDelivered)}
	default:
		return "", fmt.Errorf("sendgrid %d: %w", resp.StatusCode, ErrNotDelivered)
	}
}

func firstHeader(h map[string][]string, key string) string {
	if v := http.Header(h).Get(key); v != "" {
		return v
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Outbox records notices in PostgreSQL instead of sending them: the dev runtime's
// stand-in when no provider credentials are configured.
type Outbox struct{ db *pgxpool.Pool }

func NewOutbox(db *pgxpool.Pool) *Outbox { return &Outbox{db: db} }

func (o *Outbox) Send(ctx context.Context, n Notice) (string, error) {
	var id int64
	err := o.db.QueryRow(ctx, `INSERT INTO dev_outbox (channel, recipient, subject, body) VALUES ($1, $2, $3, $4) RETURNING id`,
		n.Channel, n.To, n.Subject, n.Body).Scan(&id)
	return fmt.Sprintf("outbox-%d", id), err
}

// OutboxEntry is a notice the outbox recorded.
type OutboxEntry struct {
	At                time.Time
	Channel, To, Body string
}

// Recent is the outbox's newest notices, newest first.
func (o *Outbox) Recent(ctx context.Context, limit int) ([]OutboxEntry, error) {
	rows, err := o.db.Query(ctx, `SELECT created_at, channel, recipient, body FROM dev_outbox ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (OutboxEntry, error) {
		var e OutboxEntry
		return e, row.Scan(&e.At, &e.Channel, &e.To, &e.Body)
	})
}

// keepHeaders records the headers of the response to one call.
type keepHeaders struct {
	into *http.Header
	next http.RoundTripper
}

func (k keepHeaders) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := k.next.RoundTrip(req)
	if resp != nil {
		*k.into = resp.Header.Clone()
	}
	return resp, err
}

// maxRetryAfter bounds how long one answer can hold back a provider's notices.
const maxRetryAfter = 10 * time.Minute

// retryAfter reads Retry-After as seconds or an HTTP date; 0 when absent or unreadable.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = time.Until(at)
	}
	return min(max(d, 0), maxRetryAfter)
}

// traced makes each provider call a client span (method, URL, status; never the body, which
// holds the number or address) under the span of the request's context. It sends the
// provider no traceparent: our trace ids are of no use to Twilio or SendGrid. With tracing
// off the global tracer provider is a no-op and so is this.
func traced(provider string, next http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(next, otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return provider + " " + r.Method }))
}

// spanOf gives a request made without a context the span of ctx.
type spanOf struct {
	ctx  context.Context
	next http.RoundTripper
}

func (s spanOf) RoundTrip(req *http.Request) (*http.Response, error) {
	span := trace.SpanFromContext(s.ctx)
	if !span.SpanContext().IsValid() {
		return s.next.RoundTrip(req)
	}
	return s.next.RoundTrip(req.WithContext(trace.ContextWithSpan(req.Context(), span)))
}

// redirectHost sends requests to another scheme and host, keeping path and query.
type redirectHost struct {
	to   *url.URL
	next http.RoundTripper
}

func (r redirectHost) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme = r.to.Scheme
	out.URL.Host = r.to.Host
	out.Host = r.to.Host
	return r.next.RoundTrip(out)
}

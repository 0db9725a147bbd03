// Package api is the senders' HTTP API: letters, batches, recipient look-ups, the event feed
// and webhooks, behind per-sender keys. The contract is openapi.yaml, served at
// /v1/openapi.yaml. Every rule is the post office's (internal/desks/postoffice), the same the
// command line applies: the API only translates HTTP to it and back.
package api

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/apikeys"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/telemetry"
)

//go:embed openapi.yaml
var OpenAPI []byte

// Limits on requests.
const (
	// MaxLetterBytes bounds one letter request: documents of up to 10 MB each, base64 in JSON.
	MaxLetterBytes = 64 << 20
	// MaxSmallBytes bounds every other JSON request.
	MaxSmallBytes = 64 << 10
	// RequestTimeout bounds a request's work; a batch upload gets BatchTimeout.
	RequestTimeout = 30 * time.Second
	BatchTimeout   = 15 * time.Minute
)

// Server is the senders' API in front of the post office's desk.
type Server struct {
	desk   PostOffice
	cfg    config.Config
	ready  []telemetry.Check
	prices postoffice.PostagePrices
	log    *slog.Logger
	mux    *http.ServeMux

	// Each sender's request rate, and its own lower rate of registry look-ups.
	limits, lookupLimits *senderLimits
	// inflight bounds what the process holds at once: bodies (all senders) and requests (each).
	inflight *inflight

	// background holds batch starts still running when the server shuts down.
	background sync.WaitGroup

	// handler is serve, behind a tracing middleware when tracing is on.
	handler http.Handler

	// BodyTimeout is how long a request may take to send its body, pages and print receipts
	// included (default RequestTimeout); a /v1 route gets its own time limit instead. Without
	// it a client trickling a body a byte a minute holds a connection and a goroutine for ever.
	BodyTimeout time.Duration
}

// New builds the API's handler around the post office's desk; cfg gives its limits and
// prices, ready the parts /readyz asks (at least one: a probe that asks nothing would answer
// ready for a process that cannot work).
func New(desk PostOffice, cfg config.Config, ready []telemetry.Check, log *slog.Logger) (*Server, error) {
	if len(ready) == 0 {
		return nil, errors.New("the API needs the parts its readiness probe asks (engine.Readiness)")
	}
	prices, err := postoffice.ParsePostagePrices(cfg.PostagePrices)
	if err != nil {
		return nil, err
	}
	s := &Server{desk: desk, cfg: cfg, ready: ready, prices: prices, log: log, mux: http.NewServeMux(), BodyTimeout: RequestTimeout,
		limits:       newSenderLimits(cfg.APIRatePerSecond, cfg.APIBurst),
		lookupLimits: newSenderLimits(cfg.LookupRatePerSecond, cfg.LookupBurst),
		inflight:     newInflight(cfg.MaxInflightBytes, cfg.MaxInflightPerSender)}
	s.handler = http.HandlerFunc(s.serve)
	s.routes()
	return s, nil
}

// Trace makes each request a server span (otelhttp), the parent of what it starts in
// Temporal: a letter submitted over HTTP is one trace from the request to the provider
// calls. Callers are outside the organisation (senders, citizens' browsers), so a trace
// they send along is linked, not continued: they cannot steer our sampling or join our
// traces. Probes and scrapes are left out; they would be most of the spans.
func (s *Server) Trace(tracing *telemetry.Tracing) {
	if !tracing.Enabled() {
		return
	}
	s.handler = otelhttp.NewHandler(http.HandlerFunc(s.serve), "http",
		otelhttp.WithTracerProvider(tracing.Provider()), otelhttp.WithPropagators(telemetry.Propagator),
		otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return !strings.HasPrefix(r.URL.Path, "/static/")
		}))
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", Healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /v1/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
	})
	s.handle("POST /v1/letters", MaxLetterBytes, RequestTimeout, s.submitLetter)
	s.handle("GET /v1/letters", 0, RequestTimeout, s.listLetters)
	s.handle("GET /v1/letters/{id}", 0, RequestTimeout, s.getLetter)
	s.handle("GET /v1/letters/{id}/dossier", 0, RequestTimeout, s.getDossier)
	s.mux.HandleFunc("GET /v1/keys", s.dossierKeys)
	s.handle("POST /v1/letters/{id}/withdraw", MaxSmallBytes, RequestTimeout, s.withdrawLetter)
	s.handle("POST /v1/letters/{id}/appointment", MaxSmallBytes, RequestTimeout, s.moveAppointment)
	s.handle("POST /v1/nemsms", MaxSmallBytes, RequestTimeout, s.sendNemSMS)
	s.handle("GET /v1/nemsms/{id}", 0, RequestTimeout, s.getNemSMS)
	s.handleSpooled("POST /v1/batches", s.cfg.MaxBatchBytes, BatchTimeout, s.submitBatch)
	s.handle("GET /v1/batches/{id}", 0, RequestTimeout, s.getBatch)
	s.handle("POST /v1/recipients/lookup", MaxSmallBytes, RequestTimeout, s.lookupRecipient)
	s.handle("GET /v1/messages", 0, RequestTimeout, s.listMessages)
	s.handle("GET /v1/messages/{id}", 0, RequestTimeout, s.getMessage)
	s.handle("GET /v1/messages/{id}/attachments/{n}", 0, RequestTimeout, s.getAttachment)
	s.handle("POST /v1/messages/{id}/handled", MaxSmallBytes, RequestTimeout, s.markHandled)
	s.handle("GET /v1/events", 0, RequestTimeout, s.listEvents)
	s.handle("PUT /v1/webhook", MaxSmallBytes, RequestTimeout, s.setWebhook)
	s.handle("GET /v1/webhook", 0, RequestTimeout, s.getWebhook)
	s.handle("DELETE /v1/webhook", 0, RequestTimeout, s.removeWebhook)
	s.mux.HandleFunc("POST /v1/print-receipts", s.printReceipts)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { notFound(w, "route") })
}

// MountMetrics serves the process's Prometheus metrics at /metrics (no key: scrape it from
// inside the network; it carries counts, never personal data).
func (s *Server) MountMetrics(h http.Handler) { s.mux.Handle("GET /metrics", h) }

// MountPages serves the pages (internal/clients/web) from the same server, on their own paths; the
// API keeps /v1, /healthz and /readyz, and any other path stays the API's 404.
func (s *Server) MountPages(pages http.Handler, paths []string) {
	for _, p := range paths {
		s.mux.Handle(p, pages)
	}
}

type senderKey struct{}

// senderOf is the sender the request's key belongs to.
func senderOf(r *http.Request) string { return r.Context().Value(senderKey{}).(string) }

type keyIDKey struct{}

// submittedBy names the API key of the request, as a letter's dossier records it.
func submittedBy(r *http.Request) string {
	if id, _ := r.Context().Value(keyIDKey{}).(string); id != "" {
		return "api-key:" + id
	}
	return ""
}

type loggerKey struct{}

func logFrom(r *http.Request) *slog.Logger {
	if l, ok := r.Context().Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// handle registers a /v1 route behind the key check, the sender's rate limit and the
// in-flight budgets, with a body limit (0: no body expected) and a time limit.
func (s *Server) handle(pattern string, maxBody int64, timeout time.Duration, h http.HandlerFunc) {
	s.route(pattern, maxBody, false, timeout, h)
}

// handleSpooled is handle for a route whose body goes to disk as it arrives (a batch): the
// body is not held in memory, so nothing is reserved for it here; the handler reserves what
// it will hold once it knows (reserveMore).
func (s *Server) handleSpooled(pattern string, maxBody int64, timeout time.Duration, h http.HandlerFunc) {
	s.route(pattern, maxBody, true, timeout, h)
}

func (s *Server) route(pattern string, maxBody int64, spooled bool, timeout time.Duration, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		sender, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !s.allowFrom(w, s.limits, sender, "requests", "API_RATE_PER_SECOND") {
			return
		}
		if maxBody > 0 && r.ContentLength > maxBody {
			// Said up front: refuse before reading a byte of it.
			tooLarge(w, maxBody)
			return
		}
		held := bodyReservation(r, maxBody)
		if spooled {
			held = 0
		}
		release, ok := s.admit(w, sender, held)
		if !ok {
			return
		}
		defer release()
		if maxBody > 0 {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout)) // the route's own, a batch's 15 minutes
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		ctx = context.WithValue(ctx, senderKey{}, sender)
		ctx = context.WithValue(ctx, keyIDKey{}, apikeys.IDOf(strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))))
		if rec, ok := w.(*recorder); ok {
			rec.sender = sender
		}
		h(w, r.WithContext(ctx))
	})
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="digitalpost"`)
		writeProblem(w, Problem{Type: problemBase + "unauthorized", Title: "an API key is needed: Authorization: Bearer <key>",
			Status: http.StatusUnauthorized, Detail: "create one with `go run ./starter sender key create --sender ID`"})
		return "", false
	}
	sender, err := s.desk.SenderOfKey(r.Context(), strings.TrimSpace(key))
	if errors.Is(err, apikeys.ErrInvalid) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="digitalpost", error="invalid_token"`)
		writeProblem(w, Problem{Type: problemBase + "unauthorized", Title: "invalid or revoked API key", Status: http.StatusUnauthorized})
		return "", false
	}
	if err != nil {
		serverError(w, r, err)
		return "", false
	}
	return sender, true
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) { Ready(s.ready...)(w, r) }

// Ready answers whether the process can work: every part it needs (its PostgreSQL, its
// Temporal) answers. The API's processes and the worker-only ones (on METRICS_ADDR) serve it
// as /readyz.
func Ready(parts ...telemetry.Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		// The answer names the part, never its error: a driver's error carries the database's
		// host, port and user, and /readyz answers anyone who reaches the port. The log has it.
		var problems []string
		for _, part := range parts {
			if err := part.Ping(ctx); err != nil {
				problems = append(problems, part.Part+" does not answer")
				logFrom(r).Warn("not ready: "+part.Part, "err", err)
			}
		}
		if len(problems) > 0 {
			writeProblem(w, Problem{Type: problemBase + "not-ready", Title: "not ready", Status: http.StatusServiceUnavailable,
				Detail: strings.Join(problems, "; ")})
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	}
}

// Healthz answers that the process runs.
func Healthz(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }

// ServeHTTP serves a request, traced when tracing is on.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// serve logs each request without personal data: the route pattern (ids only, never a
// query string or body), status, size, time, sender, and the letter it was about.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in request", "route", r.Pattern, "panic", fmt.Sprint(p))
			if !rec.wrote {
				writeProblem(rec, Problem{Type: problemBase + "internal", Title: "internal error", Status: http.StatusInternalServerError})
			}
		}
		attrs := []any{"method", r.Method, "route", r.Pattern, "status", rec.status, "bytes", rec.bytes,
			"ms", time.Since(start).Milliseconds(), "sender", rec.sender}
		if letter := letterOf(r, rec); letter != uuid.Nil {
			attrs = append(attrs, "letter_id", letter.String(), "workflow_id", letters.WorkflowID(letter))
		}
		s.log.InfoContext(r.Context(), "request", attrs...)
	}()
	r = r.WithContext(context.WithValue(r.Context(), loggerKey{}, s.log))
	// Not supported only on writers that cannot (a test's recorder); the server's can.
	_ = http.NewResponseController(w).SetReadDeadline(start.Add(s.BodyTimeout))
	s.mux.ServeHTTP(rec, r)
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() && r.Pattern != "" {
		// The mux found the route only now; the span was named before it.
		route := r.Pattern
		if _, path, ok := strings.Cut(route, " "); ok {
			route = path
		}
		span.SetName(r.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route))
		if letter := letterOf(r, rec); letter != uuid.Nil {
			span.SetAttributes(attribute.String("digitalpost.letter_id", letter.String()))
		}
	}
}

// letterOf is the letter a request was about: the one in its path, or the one it created
// (the answer's Location). uuid.Nil for any other request.
func letterOf(r *http.Request, rec *recorder) uuid.UUID {
	if strings.HasPrefix(r.Pattern, "GET /v1/letters/") || strings.HasPrefix(r.Pattern, "POST /v1/letters/") {
		id, _ := uuid.Parse(r.PathValue("id"))
		return id
	}
	if id, ok := strings.CutPrefix(rec.Header().Get("Location"), "/v1/letters/"); ok {
		letter, _ := uuid.Parse(id)
		return letter
	}
	return uuid.Nil
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
	sender string
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Serve runs the API on addr until ctx ends, then stops taking requests and lets those under
// way (and batch starts in the background) finish for up to 30 seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdown)
	done := make(chan struct{})
	go func() { s.background.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutdown.Done(): // the recovery sweep starts what was left
	}
	return err
}

package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/clients/api"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/telemetry"
	"digitalpost/internal/infra/testenv"
	"digitalpost/workflows"
)

// The citizens of these tests. Everything here is personal data that must stay out of the
// logs and the spans; personal lists each piece in every form it could appear in.
var citizens = []registry.NewCitizen{
	{CPR: "010180-1234", Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C", Email: "anna@example.dk", Mobile: "+4520000001"},
	{CPR: "020275-2345", Name: "Bo Nielsen", Address: "Nørregade 2\n8000 Aarhus C"},
	{CPR: "050545-1678", Name: "Erik Andersen", Address: "Havnegade 5\n8000 Aarhus C", Exempt: true},
	{CPR: "070390-3456", Name: "Carl Mortensen", Address: "Søndergade 7\n8000 Aarhus C", Email: "carl@example.dk", Mobile: "+4520000003"},
	{CPR: "080885-1234", Name: "Hans Lund"}, // no postal address: a letter for paper fails
}

// strangerCPR is in no registry: a letter to it is refused.
const strangerCPR = "111111-1118"

// carlsStoredMobile is how Carl's number sits in the registry after an old import, before
// numbers were checked: Twilio refuses it, and its refusal quotes it.
const carlsStoredMobile = "+45 2000 0003"

func personal() []string {
	var out []string
	for _, c := range citizens {
		out = append(out, c.CPR, strings.ReplaceAll(c.CPR, "-", ""), c.Name)
		out = append(out, strings.Fields(c.Name)...)
		if c.Address != "" {
			out = append(out, strings.Split(c.Address, "\n")[0])
		}
		if c.Email != "" {
			out = append(out, c.Email)
		}
		if c.Mobile != "" {
			out = append(out, c.Mobile, strings.TrimPrefix(c.Mobile, "+45"))
		}
	}
	return append(out, strangerCPR, strings.ReplaceAll(strangerCPR, "-", ""), carlsStoredMobile, "2000 0003")
}

// observed is the whole system with the senders' API in front, watched by the test's own
// logger and tracing.
type observed struct {
	sys *testenv.System
	api *httptest.Server
	key string
}

func startObserved(t *testing.T, logger *slog.Logger, tracing *telemetry.Tracing) *observed {
	t.Helper()
	sys := testenv.StartSystemWith(t, testenv.Options{Logger: logger, Tracing: tracing})
	ctx := context.Background()
	if err := sys.Registry.AddSender(ctx, registry.Sender{ID: "region-midt", Organisation: "Region Midtjylland",
		ReturnAddress: "Skottenborg 26\n8800 Viborg"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range citizens {
		if _, err := sys.Registry.AddCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sys.DB.Exec(ctx, `UPDATE citizens SET mobile = $1 WHERE name = 'Carl Mortensen'`, carlsStoredMobile); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(sys.Engine.PostOffice, sys.Engine.Config, sys.Engine.Readiness(), logger)
	if err != nil {
		t.Fatal(err)
	}
	srv.Trace(tracing)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	_, key, err := sys.APIKeys.Create(ctx, "region-midt")
	if err != nil {
		t.Fatal(err)
	}
	return &observed{sys: sys, api: hs, key: key}
}

// submit sends a letter over the API as a sender's system would and returns its id (uuid.Nil
// when refused) and the HTTP status.
func (o *observed) submit(t *testing.T, messageID, cpr string, physicalOnly bool) (uuid.UUID, int) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"message_id": messageID, "recipient_cpr": cpr, "subject": "Indkaldelse",
		"text": "Du er indkaldt til en undersøgelse.", "physical_only": physicalOnly})
	req, _ := http.NewRequest(http.MethodPost, o.api.URL+"/v1/letters", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+o.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	id, _ := uuid.Parse(answer.ID)
	return id, resp.StatusCode
}

// status reads a letter over the API, as a sender polls it.
func (o *observed) status(t *testing.T, id uuid.UUID) letters.Status {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, o.api.URL+"/v1/letters/"+id.String(), nil)
	req.Header.Set("Authorization", "Bearer "+o.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Status string `json:"status"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	return letters.Status(answer.Status)
}

func (o *observed) waitFor(t *testing.T, id uuid.UUID, want letters.Status) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("letter %s %s", id, want), func() bool { return o.status(t, id) == want })
}

// finished waits for the letter's workflow to end.
func (o *observed) finished(t *testing.T, id uuid.UUID) workflows.LetterState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var st workflows.LetterState
	_ = o.sys.Temporal.GetWorkflow(ctx, letters.WorkflowID(id), "").Get(ctx, &st)
	return st
}

// A letter submitted over HTTP is one trace: the request, the workflow's start, its run, its
// activities and the calls to Twilio and SendGrid, each under the one that caused it. And
// nothing personal is in a span: not in a name, an attribute, an event or a status.
func TestATraceFollowsALetterFromTheAPIToTheProvidersWithoutPersonalData(t *testing.T) {
	ctx := context.Background()
	exporter := tracetest.NewInMemoryExporter()
	tracing, err := telemetry.NewTracing(ctx, exporter, "digitalpost-test", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tracing.Shutdown(context.Background()) })
	o := startObserved(t, discard(), tracing)

	anna, status := o.submit(t, "trace-1", citizens[0].CPR, false)
	if status != http.StatusCreated {
		t.Fatalf("submit: %d", status)
	}
	o.waitFor(t, anna, letters.Notified)
	if _, err := o.sys.PostOffice.Open(ctx, anna, citizens[0].CPR); err != nil {
		t.Fatal(err)
	}
	if st := o.finished(t, anna); st.Status != letters.Opened {
		t.Fatalf("Anna's letter ended %s", st.Status)
	}
	erik, _ := o.submit(t, "trace-2", citizens[2].CPR, false) // exempt: paper
	if st := o.finished(t, erik); st.Status != letters.Printed {
		t.Fatalf("Erik's letter ended %s", st.Status)
	}
	if err := tracing.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	spans := exporter.GetSpans()

	// Anna's trace, from the request down.
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
	}
	request := findSpan(t, spans, func(s tracetest.SpanStub) bool {
		return s.Name == "POST /v1/letters" && s.SpanKind == trace.SpanKindServer && hasAttr(s, "digitalpost.letter_id", anna.String())
	}, "the HTTP request that submitted Anna's letter")
	inTrace := func(s tracetest.SpanStub) bool { return s.SpanContext.TraceID() == request.SpanContext.TraceID() }
	start := findSpan(t, spans, func(s tracetest.SpanStub) bool {
		return inTrace(s) && s.Name == "StartWorkflow:LetterWorkflow" && hasAttr(s, "temporalWorkflowID", letters.WorkflowID(anna))
	}, "the start of Anna's workflow in the request's trace")
	if start.Parent.SpanID() != request.SpanContext.SpanID() {
		t.Errorf("the workflow's start is not a child of the HTTP request: parent %s", nameOf(byID, start.Parent.SpanID()))
	}
	run := findSpan(t, spans, func(s tracetest.SpanStub) bool { return inTrace(s) && s.Name == "RunWorkflow:LetterWorkflow" },
		"the run of Anna's workflow in the request's trace")
	if run.Parent.SpanID() != start.SpanContext.SpanID() {
		t.Errorf("the workflow's run is not a child of its start: parent %s", nameOf(byID, run.Parent.SpanID()))
	}
	// Each provider call hangs, through the activity that made it, off the workflow's run.
	for _, provider := range []string{"twilio POST", "sendgrid POST"} {
		isCall := func(s tracetest.SpanStub) bool {
			return inTrace(s) && s.Name == provider && s.SpanKind == trace.SpanKindClient
		}
		call := findSpan(t, spans, isCall, provider+" in the request's trace")
		// Which activity makes the call is the workflow's business (SendNotice, or one that
		// delivers and notifies at once); that it is an activity is tracing's.
		activity, ok := byID[call.Parent.SpanID()]
		if !ok || !strings.HasPrefix(activity.Name, "RunActivity:") {
			t.Errorf("%s is a child of %s, want an activity's run", provider, nameOf(byID, call.Parent.SpanID()))
		}
		if !descendsFrom(byID, activity, run.SpanContext.SpanID()) {
			t.Errorf("%s's activity does not descend from the workflow's run", provider)
		}
		if !hasAttr(call, "http.response.status_code", "") {
			t.Errorf("%s has no response status: %v", provider, call.Attributes)
		}
	}
	findSpan(t, spans, func(s tracetest.SpanStub) bool { return inTrace(s) && strings.HasPrefix(s.Name, "RunActivity:Deliver") },
		"the delivery activity in the request's trace")
	// Erik's letter went to paper: the print job is an activity of its own trace.
	erikRequest := findSpan(t, spans, func(s tracetest.SpanStub) bool { return hasAttr(s, "digitalpost.letter_id", erik.String()) },
		"the HTTP request of Erik's letter")
	findSpan(t, spans, func(s tracetest.SpanStub) bool {
		return s.SpanContext.TraceID() == erikRequest.SpanContext.TraceID() && s.Name == "RunActivity:PrintLetter"
	}, "the print activity in the trace of Erik's letter")

	// Nothing personal anywhere, and nothing the redaction had to catch: the sources are clean.
	for _, s := range spans {
		for _, text := range spanTexts(s) {
			for _, p := range personal() {
				if strings.Contains(text, p) {
					t.Errorf("span %q holds %q: %s", s.Name, p, text)
				}
			}
			if strings.Contains(text, telemetry.Redacted) {
				t.Errorf("span %q held personal data (redacted on export): %s", s.Name, text)
			}
		}
	}
	if t.Failed() || testing.Verbose() {
		for _, s := range spans {
			t.Logf("span %s (%s) parent %s: %s", s.Name, s.SpanContext.SpanID(), nameOf(byID, s.Parent.SpanID()), strings.Join(spanTexts(s)[2:], " "))
		}
	}
}

func findSpan(t *testing.T, spans tracetest.SpanStubs, match func(tracetest.SpanStub) bool, what string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if match(s) {
			return s
		}
	}
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = s.Name
	}
	t.Fatalf("no span for %s among %d: %s", what, len(spans), strings.Join(names, ", "))
	return tracetest.SpanStub{}
}

// hasAttr tells whether s has the attribute key, with value want ("" for any value).
func hasAttr(s tracetest.SpanStub, key, want string) bool {
	for _, a := range s.Attributes {
		if string(a.Key) == key && (want == "" || a.Value.Emit() == want) {
			return true
		}
	}
	return false
}

func nameOf(byID map[trace.SpanID]tracetest.SpanStub, id trace.SpanID) string {
	if s, ok := byID[id]; ok {
		return s.Name
	}
	return "(none: " + id.String() + ")"
}

func descendsFrom(byID map[trace.SpanID]tracetest.SpanStub, s tracetest.SpanStub, ancestor trace.SpanID) bool {
	for range 20 {
		if s.Parent.SpanID() == ancestor {
			return true
		}
		parent, ok := byID[s.Parent.SpanID()]
		if !ok {
			return false
		}
		s = parent
	}
	return false
}

// spanTexts is every text a span exports.
func spanTexts(s tracetest.SpanStub) []string {
	out := []string{s.Name, s.Status.Description}
	kv := func(key string, v string) { out = append(out, key+"="+v) }
	for _, a := range s.Attributes {
		kv(string(a.Key), a.Value.Emit())
	}
	for _, e := range s.Events {
		out = append(out, e.Name)
		for _, a := range e.Attributes {
			kv(string(a.Key), a.Value.Emit())
		}
	}
	for _, l := range s.Links {
		for _, a := range l.Attributes {
			kv(string(a.Key), a.Value.Emit())
		}
	}
	return out
}

// lockedBuffer collects log lines written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The logs of a run through the happy path and the failure paths (a provider outage, a
// refused number, an unknown recipient, a letter without a postal address) are JSON lines
// that name letters and workflows by id and hold no CPR number, name, address, e-mail
// address or mobile number.
func TestLogsOfARunAreJSONLinesWithIDsAndNoPersonalData(t *testing.T) {
	out := &lockedBuffer{}
	// Debug: the test reads what an operator turning up the level would ship.
	logger, err := telemetry.NewLogger(out, "json", slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}
	previous := slog.Default()
	slog.SetDefault(logger) // the engine's own background work logs through the default
	t.Cleanup(func() { slog.SetDefault(previous) })
	o := startObserved(t, logger, nil)
	ctx := context.Background()

	o.sys.Twilio.FailNext(1) // Anna's SMS meets an outage first, and is retried
	anna, _ := o.submit(t, "logs-anna", citizens[0].CPR, false)
	bo, _ := o.submit(t, "logs-bo", citizens[1].CPR, false)
	erik, _ := o.submit(t, "logs-erik", citizens[2].CPR, false)
	carl, _ := o.submit(t, "logs-carl", citizens[3].CPR, false)
	hans, _ := o.submit(t, "logs-hans", citizens[4].CPR, true)
	if id, status := o.submit(t, "logs-stranger", strangerCPR, false); status != http.StatusUnprocessableEntity || id != uuid.Nil {
		t.Fatalf("a letter to a CPR number in no registry: %d %s", status, id)
	}
	for _, id := range []uuid.UUID{anna, bo, erik, carl, hans} {
		if id == uuid.Nil {
			t.Fatal("a letter was not taken")
		}
	}
	o.waitFor(t, anna, letters.Notified)
	// Before she opens it: opening cancels a notice still retrying.
	testenv.Eventually(t, 20*time.Second, "Anna's SMS after the outage", func() bool { return len(o.sys.Twilio.Messages()) == 1 })
	if _, err := o.sys.PostOffice.Open(ctx, anna, citizens[0].CPR); err != nil {
		t.Fatal(err)
	}
	o.waitFor(t, carl, letters.Notified) // by e-mail; the SMS was refused
	testenv.Eventually(t, 20*time.Second, "Carl's SMS refused by Twilio", func() bool {
		records, _ := o.sys.Notices.ForLetter(ctx, carl)
		for _, r := range records {
			if r.Channel == notify.SMS && r.State == "rejected" {
				return true
			}
		}
		return false
	})
	for id, want := range map[uuid.UUID]letters.Status{anna: letters.Opened, erik: letters.Printed} {
		if st := o.finished(t, id); st.Status != want {
			t.Fatalf("letter %s ended %s, want %s", id, st.Status, want)
		}
	}
	o.waitFor(t, hans, letters.Failed)
	o.waitFor(t, bo, letters.Delivered) // and no further: he has no contact details

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 20 {
		t.Fatalf("only %d log lines: the loggers are not wired to the buffer", len(lines))
	}
	letterIDs, workflowIDs := map[string]bool{}, map[string]bool{}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("line %d is not JSON: %v: %s", i+1, err, line)
			continue
		}
		if rec["msg"] == nil || rec["level"] == nil || rec["time"] == nil {
			t.Errorf("line %d lacks msg, level or time: %s", i+1, line)
		}
		if id, ok := rec["letter_id"].(string); ok {
			letterIDs[id] = true
		}
		for _, key := range []string{"workflow_id", "WorkflowID"} { // ours, and the Temporal SDK's
			if id, ok := rec[key].(string); ok {
				workflowIDs[id] = true
			}
		}
		for _, p := range personal() {
			if strings.Contains(line, p) {
				t.Errorf("line %d holds %q: %s", i+1, p, line)
			}
		}
		if strings.Contains(line, telemetry.Redacted) {
			t.Errorf("line %d held personal data (redacted on the way out): %s", i+1, line)
		}
	}
	for _, id := range []uuid.UUID{anna, bo, erik, carl, hans} {
		if !letterIDs[id.String()] {
			t.Errorf("no log line carries letter_id %s", id)
		}
	}
	// The workflows that did something worth a line: the retried SMS and the failed letter.
	for _, id := range []uuid.UUID{anna, hans} {
		if !workflowIDs[letters.WorkflowID(id)] {
			t.Errorf("no log line carries the workflow id %s", letters.WorkflowID(id))
		}
	}
	if t.Failed() {
		t.Logf("%d lines; the first 40:\n%s", len(lines), strings.Join(lines[:min(40, len(lines))], "\n"))
	}
}

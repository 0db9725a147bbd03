package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"digitalpost/internal/adapters/webhooks"
	"digitalpost/internal/clients/api"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/engine"
	"digitalpost/workflows"
)

// Temporal: whoever reaches the frontend sends what they like, in plaintext, straight to the
// workflows (as the official CLI does); none of it may act for anyone.

func plain(v any) *commonpb.Payloads {
	p, _ := converter.GetDefaultDataConverter().ToPayloads(v)
	return p
}

func forgedOpening(ctx context.Context, w *world) (string, string, string, bool) {
	_, err := w.tc.WorkflowService().SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: letters.WorkflowID(w.letterForged)},
		SignalName: workflows.OpenedSignal, Input: plain(map[string]any{"At": "2026-01-01T00:00:00Z", "ByDelegate": false}),
		Identity: "attacker", RequestId: uuid.NewString()})
	if err != nil {
		return "forged opening", "signal: " + err.Error(), "", false
	}
	// The letter notes a forged opening in its timeline; that note (or the letter opened) says
	// the worker has seen the signal, so the verdict is not read before it arrives.
	noted := false
	opened := eventually(ctx, 10*time.Second, func() bool {
		if st, err := w.engine.PostOffice.Status(ctx, w.letterForged); err == nil {
			for _, e := range st.Timeline {
				noted = noted || strings.Contains(e.Note, "ignored")
			}
		}
		return noted || w.letterStatus(ctx, w.letterForged) == "opened"
	}) && !noted
	st := w.letterStatus(ctx, w.letterForged)
	ok, state := w.unopened(ctx, w.letterForged)
	return "raw gRPC SignalWorkflowExecution `opened` {At, ByDelegate:false} in plaintext to a waiting letter",
		fmt.Sprintf("signal taken by the server; letter %s, timeline notes it ignored: %t", st, noted), state, !opened && ok && st != "opened"
}

func rawUpdate(ctx context.Context, w *world, workflowID, name string, args *commonpb.Payloads) (string, error) {
	resp, err := w.tc.WorkflowService().UpdateWorkflowExecution(ctx, &workflowservice.UpdateWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflowID},
		Request: &updatepb.Request{Meta: &updatepb.Meta{UpdateId: uuid.NewString(), Identity: "attacker"},
			Input: &updatepb.Input{Name: name, Args: args}},
		WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED},
	})
	if err != nil {
		return "", err
	}
	if f := resp.GetOutcome().GetFailure(); f != nil {
		return "refused: " + codec.FailureConverter(codec.DataConverter(w.keys)).FailureToError(f).Error(), nil
	}
	return "ACCEPTED", nil
}

func forgedRespond(ctx context.Context, w *world) (string, string, string, bool) {
	got, err := rawUpdate(ctx, w, access.WorkflowID(w.requestBo), workflows.RespondUpdate, plain(map[string]any{"Accept": true}))
	if err != nil {
		got = "error: " + err.Error()
	}
	st := w.grantStatus(ctx, w.requestBo)
	return "raw gRPC Update `respond` {Accept:true} in plaintext to Bo's request to read Anna's post", short(got, 140),
		"request " + string(st), strings.HasPrefix(got, "refused") && st == access.Requested
}

func forgedDecide(ctx context.Context, w *world) (string, string, string, bool) {
	got, err := rawUpdate(ctx, w, exemption.WorkflowID(w.caseFrede), workflows.DecideUpdate, plain(map[string]any{"Approve": true, "Caseworker": "cw1"}))
	if err != nil {
		got = "error: " + err.Error()
	}
	c, _ := w.engine.Cases.Get(ctx, w.caseFrede)
	return "raw gRPC Update `decide` {Approve:true, Caseworker:cw1} in plaintext to an exemption case", short(got, 140),
		"case " + string(c.Status), strings.HasPrefix(got, "refused") && c.Status == "awaiting_decision"
}

func historiesHoldNoPersonalData(ctx context.Context, w *world) (string, string, string, bool) {
	ids := []string{letters.WorkflowID(w.letterMain), letters.WorkflowID(w.letterForged), access.WorkflowID(w.requestBo),
		access.WorkflowID(w.revokedGrant), exemption.WorkflowID(w.caseFrede)}
	var raw bytes.Buffer
	events := 0
	for _, id := range ids {
		it := w.tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return "histories", err.Error(), "", false
			}
			b, _ := proto.Marshal(e)
			raw.Write(b)
			events++
		}
	}
	found := personalDataIn(raw.String(), w.anna, w.bo, w.dorte, w.frede)
	return fmt.Sprintf("read the raw histories of %d workflows (2 letters, 2 reading accesses, 1 case) without the keys", len(ids)),
		fmt.Sprintf("%d events, %d bytes", events, raw.Len()), leakedWord(len(found) > 0, strings.Join(found, ", ")), events > 10 && len(found) == 0
}

// personalDataIn lists which of the people's CPR numbers, names, e-mails, mobiles and
// addresses text holds.
func personalDataIn(text string, people ...person) []string {
	var found []string
	for _, p := range people {
		for what, v := range map[string]string{"CPR": p.CPR, "CPR digits": p.Digits, "name": p.Name, "e-mail": p.Email,
			"mobile": strings.TrimPrefix(p.Mobile, "+45"), "address": "Angrebsvej"} {
			if strings.Contains(text, v) {
				found = append(found, p.Name+"'s "+what)
			}
		}
	}
	return found
}

// Codec: what the codec server and the workers' codec open.

func codecDecodes(ctx context.Context, w *world) (string, string, string, bool) {
	payload, _ := converter.GetDefaultDataConverter().ToPayload(map[string]any{"Accept": true})
	sealed, _ := codec.New(w.keys).Encode([]*commonpb.Payload{payload})
	tampered := proto.Clone(sealed[0]).(*commonpb.Payload)
	tampered.Data[len(tampered.Data)-1] ^= 1
	stranger, _ := codec.ParseKeys(codec.NewKeySpec("attacks1")) // the same key id, another key
	unknown, _ := codec.New(stranger).Encode([]*commonpb.Payload{payload})
	decode := func(p *commonpb.Payload) reply {
		body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
		return send(http.MethodPost, w.codecSrv.URL+"/decode", bytes.NewReader(body), "Authorization", "Bearer "+w.opToken,
			"Content-Type", "application/json", "X-Namespace", "default")
	}
	control, tam, unk := decode(sealed[0]), decode(tampered), decode(unknown[0])

	// The workers' codec: plaintext, and a payload sealed for one workflow replayed into another.
	_, plainErr := codec.Worker(w.keys).Decode([]*commonpb.Payload{payload})
	forA := codec.Worker(w.keys).WithSerializationContext(converter.WorkflowSerializationContext{Namespace: "default", WorkflowID: "reading-access-a"})
	forB := codec.Worker(w.keys).WithSerializationContext(converter.WorkflowSerializationContext{Namespace: "default", WorkflowID: "reading-access-b"})
	sealedA, _ := forA.Encode([]*commonpb.Payload{payload})
	_, replayErr := forB.Decode(sealedA)
	return "codec server /decode: tampered, other key (control: intact); workers' codec: plaintext, replayed into another workflow",
		fmt.Sprintf("tampered %s, other key %s (control %s); plaintext error %t, replayed error %t", tam, unk, control, plainErr != nil, replayErr != nil),
		"none", control.status == 200 && tam.status != 200 && unk.status != 200 && plainErr != nil && replayErr != nil
}

// The operator gate and the codec server: decoded histories only for a signed-in operator.

func operatorGateSessions(ctx context.Context, w *world) (string, string, string, bool) {
	body := `{"payloads":[]}`
	gate := w.gateSrv.URL
	none := send(http.MethodPost, gate+"/codec/decode", strings.NewReader(body), "Content-Type", "application/json")
	ui := send(http.MethodGet, gate+"/api/v1/namespaces", nil)
	made := send(http.MethodPost, gate+"/codec/decode", strings.NewReader(body), "Cookie", "dp_operator=bm90LWEtc2Vzc2lvbg")
	in := send(http.MethodPost, gate+"/operator/sign-in", strings.NewReader("token="+w.opToken), "Content-Type", "application/x-www-form-urlencoded")
	cookie := cookieOf(in, "dp_operator")
	live := send(http.MethodPost, gate+"/codec/decode", strings.NewReader(body), "Cookie", cookie, "Content-Type", "application/json")
	send(http.MethodPost, gate+"/operator/sign-out", nil, "Cookie", cookie)
	stale := send(http.MethodPost, gate+"/codec/decode", strings.NewReader(body), "Cookie", cookie, "Content-Type", "application/json")
	noToken := send(http.MethodPost, w.codecSrv.URL+"/decode", strings.NewReader(body), "Content-Type", "application/json")
	reached := strings.Contains(ui.body, "TEMPORAL-UI-REACHED")
	return "gate: /codec/decode and the UI API with no session, a made-up one, a signed-out one (control: signed in); codec server with no token",
		fmt.Sprintf("none %s, UI %s, made-up %s, stale %s (control %s); codec server %s", none, ui, made, stale, live, noToken),
		leakedWord(reached, "the Temporal UI"),
		none.status == 401 && ui.status == 401 && made.status == 401 && stale.status == 401 && live.status == 200 && noToken.status == 401 && !reached
}

func tokenInPath(ctx context.Context, w *world) (string, string, string, bool) {
	body := `{"payloads":[]}`
	codecPath := send(http.MethodPost, w.codecSrv.URL+"/"+w.opToken+"/decode", strings.NewReader(body), "Content-Type", "application/json")
	gatePath := send(http.MethodPost, w.gateSrv.URL+"/"+w.opToken+"/codec/decode", strings.NewReader(body), "Content-Type", "application/json")
	gateQuery := send(http.MethodPost, w.gateSrv.URL+"/codec/decode?token="+w.opToken, strings.NewReader(body), "Content-Type", "application/json")
	decoded := func(r reply) bool { return r.status == 200 }
	return "the operator token in the path: codec server /<token>/decode, gate /<token>/codec/decode, gate ?token=",
		fmt.Sprintf("%s, %s, %s", codecPath, gatePath, gateQuery), leakedWord(decoded(codecPath) || decoded(gatePath) || decoded(gateQuery), "payloads decoded for a token in the URL"),
		codecPath.status == 401 && gatePath.status != 200 && gateQuery.status == 401
}

// readyWithDatabaseDown serves the API's readiness handler with a database that does not
// answer, named with a user and database the answer must not repeat.
func readyWithDatabaseDown(ctx context.Context, w *world) reply {
	db, err := pgxpool.New(ctx, "postgres://secret_user@127.0.0.1:1/secret_db?sslmode=disable&connect_timeout=1")
	if err != nil {
		return reply{err: err}
	}
	defer db.Close()
	srv := httptest.NewServer(api.Ready((&engine.Engine{DB: db, Temporal: w.tc}).Readiness()...))
	defer srv.Close()
	return send(http.MethodGet, srv.URL+"/readyz", nil)
}

// Webhooks: a sender's receiver inside our network is never called.

func webhookInward(target string) func(context.Context, *world) (string, string, string, bool) {
	return func(ctx context.Context, w *world) (string, string, string, bool) {
		key := w.hookSenders[target]
		var hook reply
		eventually(ctx, 25*time.Second, func() bool {
			hook = w.api(key, http.MethodGet, "/v1/webhook", "")
			return jsonField(hook.body, "last_error") != "" || hook.status == http.StatusNotFound
		})
		lastErr := jsonField(hook.body, "last_error")
		calls := w.hooks.callsTo(target)
		refused := hook.status == http.StatusNotFound || strings.Contains(lastErr, "internal")
		return "sender's webhook " + target + " (WEBHOOK_ALLOW_HTTP=true), one event", fmt.Sprintf("%s %s", hook, short(lastErr, 110)),
			fmt.Sprintf("receiver called %d times", calls), refused && calls == 0
	}
}

func webhookRedirect(ctx context.Context, w *world) (string, string, string, bool) {
	target := w.hooks.url("/redirected-to")
	redirector := httptest.NewServer(http.RedirectHandler(target, http.StatusFound))
	defer redirector.Close()
	h := webhooks.New(w.db, w.engine.Events)
	h.AllowInternal = true // both servers are on this machine: only the redirect is under test
	resp, err := h.Client.Post(redirector.URL, "application/json", strings.NewReader(`{}`))
	got := ""
	if err != nil {
		got = err.Error()
	} else {
		resp.Body.Close()
		got = fmt.Sprint(resp.StatusCode)
	}
	calls := w.hooks.callsTo(target)
	return "the webhooks' HTTP client posts to a receiver answering 302 to another address", got,
		fmt.Sprintf("redirect target called %d times", calls), calls == 0
}

// Logs: the worker's own log (its stderr) must never hold personal data.

func malformedBodiesLogNothing(ctx context.Context, w *world) (string, string, string, bool) {
	p := w.bo
	bodies := []struct{ path, body string }{
		{"/v1/letters", `{"recipient_cpr":"` + p.CPR + `","subject":"x","text":`},
		{"/v1/letters", `{"recipient_cpr":` + p.Digits + `}`},
		{"/v1/letters", `{"` + p.CPR + `":"` + p.Email + `"}`},
		{"/v1/recipients/lookup", `{"recipient_cpr":"` + p.CPR + `","mobile":"` + p.Mobile + `"}`},
		{"/v1/recipients/lookup", `{"recipient_cpr":"` + p.Digits + `x"}`},
		{"/v1/nemsms", `{"message_id":"m","recipient_cpr":"` + p.CPR + `","text":"` + p.Email + `"`},
	}
	var got []string
	for _, b := range bodies {
		got = append(got, w.api(w.keyC, http.MethodPost, b.path, b.body).String())
	}
	time.Sleep(300 * time.Millisecond)
	log, _ := os.ReadFile(w.workerLog)
	found := personalDataIn(string(log), p)
	return "malformed JSON holding Bo's CPR number, e-mail and mobile to letters, look-up, NemSMS", strings.Join(got, ", "),
		fmt.Sprintf("worker log %d bytes; %s", len(log), leakedWord(len(found) > 0, strings.Join(found, ", "))), len(found) == 0 && len(log) > 0
}

func wholeRunLogsNothing(ctx context.Context, w *world) (string, string, string, bool) {
	log, _ := os.ReadFile(w.workerLog)
	found := personalDataIn(string(log), w.anna, w.bo, w.dorte, w.eva, w.frede)
	lines := bytes.Count(log, []byte("\n"))
	return "read the worker's whole log after every attack above", fmt.Sprintf("%d lines", lines),
		leakedWord(len(found) > 0, strings.Join(found, ", ")), lines > 50 && len(found) == 0
}

func short(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"digitalpost/internal/adapters/webhooks"
	"digitalpost/internal/domain/registry"
)

// Webhooks: a name that resolves inward, and signatures as a receiver checks them.

// webhookByName: localhost passes every check made when the webhook is set (it is a name,
// not an address); what stops it is the check made when the connection is dialled, after DNS,
// which is also what stops a name that resolves outward when set and inward when used. Tried
// twice: through the running worker (the sender's webhook is set to the name), and with the
// webhooks' own HTTP client posting to the name directly, with nothing checked before the dial.
func webhookByName(ctx context.Context, w *world) (string, string, string, bool) {
	var target string
	for _, t := range w.webhookTargets() {
		if strings.Contains(t, "dns-name") {
			target = t
		}
	}
	key := w.hookSenders[target]
	var hook reply
	eventually(ctx, 25*time.Second, func() bool {
		hook = w.api(key, http.MethodGet, "/v1/webhook", "")
		return jsonField(hook.body, "last_error") != "" || hook.status == http.StatusNotFound
	})
	lastErr := jsonField(hook.body, "last_error")

	direct := w.hooks.url("/dns-direct")
	direct = strings.Replace(direct, "127.0.0.1", "localhost", 1)
	h := webhooks.New(w.db, w.engine.Events)
	h.AllowHTTP = true
	var dialErr string
	if resp, err := h.Client.Post(direct, "application/json", strings.NewReader(`{}`)); err != nil {
		dialErr = err.Error()
	} else {
		resp.Body.Close()
		dialErr = "answered " + resp.Status
	}
	calls := w.hooks.callsTo(target) + w.hooks.callsTo(direct)
	setAccepted := hook.status == http.StatusOK
	return "webhook " + target + " set through the API, one event; and the webhooks' client posting to " + direct,
		fmt.Sprintf("webhook set: %t (GET %s), delivery: %s; direct post: %s", setAccepted, hook, short(lastErr, 90), short(dialErr, 110)),
		fmt.Sprintf("receiver called %d times", calls),
		calls == 0 && strings.Contains(dialErr, "internal") && (hook.status == http.StatusNotFound || strings.Contains(lastErr, "internal"))
}

// captured is one webhook call as the receiver saw it.
type captured struct {
	header http.Header
	body   []byte
	status int
}

// signaturesVerifyIndependently: a sender's webhook secret, as the API hands it out, verifies
// every call with the Standard Webhooks project's own Go library (not this module's code);
// a receiver that fails the first call gets the retry with the same webhook-id.
//
// The worker refuses receivers on this machine (see the rows above), so the calls are made
// here by the same delivery code the worker runs (webhooks.Hooks.Deliver), allowed to reach
// this machine, against the webhook set and the events recorded by the running system.
func signaturesVerifyIndependently(ctx context.Context, w *world) (string, string, string, bool) {
	const sender = "krog-signatur"
	var mu sync.Mutex
	var calls []captured
	rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		defer mu.Unlock()
		status := http.StatusNoContent
		if len(calls) == 0 {
			status = http.StatusServiceUnavailable // the first call fails: the event must come again
		}
		calls = append(calls, captured{header: r.Header.Clone(), body: b, status: status})
		rw.WriteHeader(status)
	}))
	defer rcv.Close()

	if err := w.engine.Registry.AddSender(ctx, registry.Sender{ID: sender, Organisation: "Signatur Kommune"}); err != nil {
		return "webhook signatures", err.Error(), "", false
	}
	_, key, err := w.engine.APIKeys.Create(ctx, sender)
	if err != nil {
		return "webhook signatures", err.Error(), "", false
	}
	set := w.api(key, http.MethodPut, "/v1/webhook", mustJSON(map[string]string{"url": rcv.URL + "/hook"}))
	secret := jsonField(set.body, "secret")
	if set.status != http.StatusOK || secret == "" {
		return "webhook signatures", fmt.Sprintf("PUT /v1/webhook %s %.200s", set, set.body), "", false
	}
	if r := w.api(key, http.MethodPost, "/v1/letters", mustJSON(map[string]string{"message_id": "signed", "recipient_cpr": w.frede.CPR,
		"subject": "Underskrevet", "text": "Hej."})); r.status != http.StatusCreated {
		return "webhook signatures", fmt.Sprintf("letter %s %.200s", r, r.body), "", false
	}
	h := webhooks.New(w.db, w.engine.Events)
	h.AllowHTTP, h.AllowInternal = true, true
	h.Secrets = w.keys // the worker's PAYLOAD_KEYS: the secret is sealed where it is stored
	var rounds []string
	for i := 0; i < 4 && ctx.Err() == nil; i++ {
		round, err := h.Deliver(ctx, sender, 1500*time.Millisecond, func() {})
		var later *webhooks.RetryLater
		switch {
		case errors.As(err, &later):
			rounds = append(rounds, "retry later")
		case err != nil:
			rounds = append(rounds, "error "+err.Error())
		default:
			rounds = append(rounds, fmt.Sprintf("%d delivered", round.Delivered))
		}
		mu.Lock()
		n := len(calls)
		mu.Unlock()
		if n >= 2 {
			break
		}
	}

	mu.Lock()
	defer mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return "webhook signatures", "the library refuses the secret: " + err.Error(), "", false
	}
	verified, tamperedRefused := 0, 0
	for _, c := range calls {
		if wh.Verify(c.body, c.header) == nil {
			verified++
		}
		if wh.Verify(append([]byte(" "), c.body...), c.header) != nil {
			tamperedRefused++
		}
	}
	sameID := len(calls) >= 2 && calls[0].header.Get("webhook-id") != "" && calls[0].header.Get("webhook-id") == calls[1].header.Get("webhook-id")
	sameBody := len(calls) >= 2 && string(calls[0].body) == string(calls[1].body)
	ids := []string{}
	for _, c := range calls {
		ids = append(ids, fmt.Sprintf("%s→%d", c.header.Get("webhook-id"), c.status))
	}
	return "a sender's webhook (secret from PUT /v1/webhook), the first call answered 503; each call verified with github.com/standard-webhooks/standard-webhooks/libraries/go",
		fmt.Sprintf("rounds: %s; calls %s; verified %d of %d, one-byte-changed body refused %d of %d", strings.Join(rounds, ", "),
			short(strings.Join(ids, ", "), 140), verified, len(calls), tamperedRefused, len(calls)),
		fmt.Sprintf("retry carries the same webhook-id: %t, the same body: %t", sameID, sameBody),
		len(calls) >= 2 && verified == len(calls) && tamperedRefused == len(calls) && sameID && sameBody && strings.HasPrefix(secret, "whsec_")
}

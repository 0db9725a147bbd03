package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/clients/api"
)

// Senders: another sender's letters, batches, NemSMS and events; keys.

func otherSendersLetter(ctx context.Context, w *world) (string, string, string, bool) {
	r := w.api(w.keyB, http.MethodGet, "/v1/letters/"+w.letterMain.String(), "")
	leaked := strings.Contains(r.body, "Indkaldelse til scanning")
	return "sender B: GET /v1/letters/{A's letter}", r.String(), leakedWord(leaked, "subject"), r.status == http.StatusNotFound && !leaked
}

func otherSendersWithdraw(ctx context.Context, w *world) (string, string, string, bool) {
	r := w.api(w.keyB, http.MethodPost, "/v1/letters/"+w.letterMain.String()+"/withdraw", `{"reason":"angreb"}`)
	st := w.letterStatus(ctx, w.letterMain)
	return "sender B: POST /v1/letters/{A's letter}/withdraw", r.String(), "letter status " + st,
		r.status == http.StatusNotFound && st != "withdrawn"
}

func otherSendersAppointment(ctx context.Context, w *world) (string, string, string, bool) {
	var before, after *time.Time
	_ = w.db.QueryRow(ctx, `SELECT appointment_at FROM letters WHERE id = $1`, w.letterMain).Scan(&before)
	r := w.api(w.keyB, http.MethodPost, "/v1/letters/"+w.letterMain.String()+"/appointment",
		mustJSON(map[string]string{"appointment_at": time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)}))
	_ = w.db.QueryRow(ctx, `SELECT appointment_at FROM letters WHERE id = $1`, w.letterMain).Scan(&after)
	same := before != nil && after != nil && before.Equal(*after)
	return "sender B: POST /v1/letters/{A's letter}/appointment", r.String(), writtenWord(!same, "appointment_at"), r.status == http.StatusNotFound && same
}

func otherSendersBatch(ctx context.Context, w *world) (string, string, string, bool) {
	r := w.api(w.keyB, http.MethodGet, "/v1/batches/"+w.batchA, "")
	leaked := strings.Contains(r.body, `"letters"`)
	return "sender B: GET /v1/batches/{A's batch}", r.String(), leakedWord(leaked, "batch counts"), r.status == http.StatusNotFound && !leaked
}

func otherSendersNemSMS(ctx context.Context, w *world) (string, string, string, bool) {
	r := w.api(w.keyB, http.MethodGet, "/v1/nemsms/"+w.nemsmsA, "")
	leaked := strings.Contains(r.body, "Husk din tid")
	return "sender B: GET /v1/nemsms/{A's message}", r.String(), leakedWord(leaked, "text"), r.status == http.StatusNotFound && !leaked
}

func otherSendersEvents(ctx context.Context, w *world) (string, string, string, bool) {
	ev := w.api(w.keyB, http.MethodGet, "/v1/events", "")
	list := w.api(w.keyB, http.MethodGet, "/v1/letters?limit=1000", "")
	own := w.api(w.keyA, http.MethodGet, "/v1/events", "")
	leaked := false
	for _, id := range []uuid.UUID{w.letterMain, w.letterWithdrawn, w.letterForged} {
		leaked = leaked || strings.Contains(ev.body, id.String()) || strings.Contains(list.body, id.String())
	}
	// The control: A's own feed has A's letter, so B's not having it means something.
	control := strings.Contains(own.body, w.letterMain.String())
	return "sender B: GET /v1/events and /v1/letters", fmt.Sprintf("%d, %d (A's own feed has the letter: %t)", ev.status, list.status, control),
		leakedWord(leaked, "A's letter ids"), ev.status == http.StatusOK && list.status == http.StatusOK && control && !leaked
}

func badKeys(ctx context.Context, w *world) (string, string, string, bool) {
	tries := map[string][]string{
		"revoked":           {"Authorization", "Bearer " + w.revokedKey},
		"truncated":         {"Authorization", "Bearer " + w.keyB[:len(w.keyB)-4]},
		"lower-case bearer": {"Authorization", "bearer " + w.keyB},
		"key in the query":  {"X-Nothing", "-"},
	}
	var got []string
	held := true
	for _, name := range []string{"revoked", "truncated", "lower-case bearer", "key in the query"} {
		path := "/v1/letters"
		if name == "key in the query" {
			path += "?key=" + w.keyB + "&api_key=" + w.keyB
		}
		r := send(http.MethodGet, w.base+path, nil, tries[name]...)
		got = append(got, fmt.Sprintf("%s %s", name, r))
		held = held && r.status == http.StatusUnauthorized
	}
	return "revoked, truncated, lower-case `bearer`, key in the query", strings.Join(got, ", "), "none", held
}

func printReceiptTokens(ctx context.Context, w *world) (string, string, string, bool) {
	body := `[{"job_id":"x","outcome":"posted","at":"2026-01-01T00:00:00Z"}]`
	var got []string
	held := true
	for _, t := range []struct{ name, header string }{{"no token", ""}, {"empty", "Bearer "}, {"prefix", "Bearer " + w.printToken[:8]},
		{"token + 1", "Bearer " + w.printToken + "x"}} {
		r := send(http.MethodPost, w.base+"/v1/print-receipts", strings.NewReader(body), "Authorization", t.header, "Content-Type", "application/json")
		got = append(got, t.name+" "+r.String())
		held = held && r.status == http.StatusUnauthorized
	}
	n := w.count(ctx, `SELECT count(*) FROM print_receipts`)
	return "POST /v1/print-receipts with no, empty, prefix or longer token", strings.Join(got, ", "), fmt.Sprintf("%d receipts recorded", n), held && n == 0
}

func receiptPathTraversal(ctx context.Context, w *world) (string, string, string, bool) {
	before := w.count(ctx, `SELECT count(*) FROM print_jobs WHERE outcome <> ''`)
	body := mustJSON([]map[string]string{{"job_id": "../../x", "outcome": "posted", "at": time.Now().UTC().Format(time.RFC3339)},
		{"job_id": "../../../etc/passwd", "outcome": "returned", "at": time.Now().UTC().Format(time.RFC3339)}})
	r := send(http.MethodPost, w.base+"/v1/print-receipts", strings.NewReader(body), "Authorization", "Bearer "+w.printToken, "Content-Type", "application/json")
	after := w.count(ctx, `SELECT count(*) FROM print_jobs WHERE outcome <> ''`)
	applied := strings.Contains(r.body, `"applied"`)
	_, statErr := os.Stat(filepath.Join(w.dir, "x"))
	stray := statErr == nil
	return "print house: receipts for job ids `../../x`, `../../../etc/passwd`", fmt.Sprintf("%s %s", r, effects(r.body)),
		fmt.Sprintf("print jobs moved: %d; file outside the spool: %t", after-before, stray),
		(r.status == http.StatusOK || r.status == http.StatusUnprocessableEntity) && !applied && after == before && !stray
}

// Inputs: bodies, bytes, rates.

func bodiesOverLimits(ctx context.Context, w *world) (string, string, string, bool) {
	over := func(prefix string, limit int) []byte {
		b := make([]byte, limit+1)
		copy(b, prefix)
		for i := len(prefix); i < len(b); i++ {
			b[i] = 'a'
		}
		return b
	}
	small := api.MaxSmallBytes
	tries := []struct {
		name   string
		method string
		path   string
		ctype  string
		body   []byte
		bearer string
	}{
		{"letter", "POST", "/v1/letters", "application/json", over(`{"message_id":"big","text":"`, api.MaxLetterBytes), w.keyC},
		{"withdraw", "POST", "/v1/letters/" + uuid.NewString() + "/withdraw", "application/json", over(`{"reason":"`, small), w.keyC},
		{"appointment", "POST", "/v1/letters/" + uuid.NewString() + "/appointment", "application/json", over(`{"appointment_at":"`, small), w.keyC},
		{"nemsms", "POST", "/v1/nemsms", "application/json", over(`{"text":"`, small), w.keyC},
		{"lookup", "POST", "/v1/recipients/lookup", "application/json", over(`{"recipient_cpr":"`, small), w.keyC},
		{"webhook", "PUT", "/v1/webhook", "application/json", over(`{"url":"https://x/`, small), w.keyC},
		{"batch", "POST", "/v1/batches", "text/csv", over("message_id,to,subject,text\nm,0101801234,s,", maxBatchBytes), w.keyC},
		{"print receipts", "POST", "/v1/print-receipts", "application/json", over(`[{"job_id":"`, small), w.printToken},
		{"page form", "POST", "/log-ind/afsender", "application/x-www-form-urlencoded", over("key=", 64<<10), ""},
	}
	var bad []string
	for _, t := range tries {
		h := []string{"Content-Type", t.ctype, "Origin", w.base}
		if t.bearer != "" {
			h = append(h, "Authorization", "Bearer "+t.bearer)
		}
		r := send(t.method, w.base+t.path, strings.NewReader(string(t.body)), h...)
		if r.status != http.StatusRequestEntityTooLarge {
			bad = append(bad, fmt.Sprintf("%s %s", t.name, r))
		}
	}
	left, _ := os.ReadDir(w.workerTmp)
	written := w.count(ctx, `SELECT count(*) FROM letters WHERE sender_id = 'skat'`)
	got := fmt.Sprintf("413 for all %d", len(tries))
	if len(bad) > 0 {
		got = fmt.Sprintf("413 for %d of %d; not: %s", len(tries)-len(bad), len(tries), strings.Join(bad, ", "))
	}
	return "one byte over each body limit: letter 64 MiB, JSON 64 KiB (withdraw, appointment, NemSMS, look-up, webhook), batch (MAX_BATCH_BYTES), print receipts, page form",
		got, fmt.Sprintf("letters written %d, temp files left %d", written, len(left)), len(bad) == 0 && len(left) == 0 && written == 0
}

func nulAndInvalidUTF8(ctx context.Context, w *world) (string, string, string, bool) {
	nul := w.api(w.keyC, http.MethodPost, "/v1/letters", mustJSON(map[string]string{"message_id": "nul", "recipient_cpr": w.anna.CPR, "subject": "a\x00b", "text": "x"}))
	rawJSON := w.apiRaw(w.keyC, http.MethodPost, "/v1/letters", "application/json",
		[]byte(`{"message_id":"utf8-json","recipient_cpr":"`+w.anna.CPR+`","subject":"a`+"\xff\xfe"+`b","text":"x"}`))
	ct, mp := multipartLetter(map[string]string{"message_id": "utf8-multipart", "recipient_cpr": w.anna.CPR, "subject": "a\xffb", "text": "x"})
	multi := w.apiRaw(w.keyC, http.MethodPost, "/v1/letters", ct, mp)
	written := w.count(ctx, `SELECT count(*) FROM letters WHERE sender_id = 'skat' AND message_id IN ('nul', 'utf8-json', 'utf8-multipart')`)
	if rawJSON.status == http.StatusCreated {
		var subject string
		_ = w.db.QueryRow(ctx, `SELECT subject FROM letters WHERE sender_id = 'skat' AND message_id = 'utf8-json'`).Scan(&subject)
		rawJSON.body = fmt.Sprintf("subject stored as %q", subject)
		return "letter with NUL in the subject (JSON), invalid UTF-8 in JSON, invalid UTF-8 in multipart",
			fmt.Sprintf("%s, %s (%s), %s", nul, rawJSON, rawJSON.body, multi), fmt.Sprintf("letters written %d", written), false
	}
	return "letter with NUL in the subject (JSON), invalid UTF-8 in JSON, invalid UTF-8 in multipart",
		fmt.Sprintf("%s, %s, %s", nul, rawJSON, multi), fmt.Sprintf("letters written %d", written),
		nul.status == 422 && (rawJSON.status == 400 || rawJSON.status == 422) && multi.status == 422 && written == 0
}

func burstPlusOne(ctx context.Context, w *world) (string, string, string, bool) {
	var mu sync.Mutex
	codes := map[int]int{}
	retryAfter := false
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				r := w.api(w.keyBurst, http.MethodGet, "/v1/events?limit=1", "")
				mu.Lock()
				codes[r.status]++
				retryAfter = retryAfter || (r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") != "")
				mu.Unlock()
			}
		}()
	}
	for i := range apiBurst + 1 {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	other := w.api(w.keyA, http.MethodGet, "/v1/letters?limit=1", "")
	return fmt.Sprintf("API_BURST+1 = %d requests at once from one sender, then one from another", apiBurst+1),
		fmt.Sprintf("200×%d, 429×%d (Retry-After: %t); other sender %s", codes[200], codes[429], retryAfter, other), "none",
		codes[429] >= 1 && retryAfter && codes[200] >= apiBurst-1 && other.status == http.StatusOK
}

func lookupAnswersNoDates(ctx context.Context, w *world) (string, string, string, bool) {
	dead, err1 := w.citizen(ctx, "Dødsbo Død")
	gone, err2 := w.citizen(ctx, "Udvandret Ude")
	if err1 != nil || err2 != nil {
		return "look-up", fmt.Sprint(err1, err2), "", false
	}
	_, err1 = w.engine.Desk.RecordDeath(ctx, dead.CPR, time.Date(2024, 3, 17, 0, 0, 0, 0, time.UTC))
	_, err2 = w.engine.Desk.RecordEmigration(ctx, gone.CPR, time.Date(2023, 11, 5, 0, 0, 0, 0, time.UTC), "Calle Mayor 1, Madrid")
	if err1 != nil || err2 != nil {
		return "look-up", fmt.Sprint(err1, err2), "", false
	}
	var got, leaks, extra []string
	for _, p := range []person{dead, gone} {
		r := w.api(w.keyB, http.MethodPost, "/v1/recipients/lookup", mustJSON(map[string]string{"recipient_cpr": p.CPR}))
		got = append(got, fmt.Sprintf("%s %.160s", r, strings.TrimSpace(r.body)))
		for _, date := range []string{"2024", "2023", "17.", "5.", "03-17", "11-05", "marts", "november", "Madrid"} {
			if strings.Contains(r.body, date) {
				leaks = append(leaks, date)
			}
		}
		var fields map[string]any
		_ = json.Unmarshal([]byte(r.body), &fields)
		for k := range fields {
			if k != "channel" && k != "reason" && k != "explanation" && !slices.Contains(extra, k) {
				extra = append(extra, k)
			}
		}
		if r.status != http.StatusOK {
			leaks = append(leaks, "status "+r.String())
		}
	}
	effect := leakedWord(len(leaks) > 0, strings.Join(leaks, ", "))
	if len(extra) > 0 {
		sort.Strings(extra)
		effect += "; fields beyond channel, reason and its explanation: " + strings.Join(extra, ", ")
	}
	return "sender B: POST /v1/recipients/lookup for a dead and an emigrated citizen", strings.Join(got, " | "),
		effect, len(leaks) == 0 && len(extra) == 0
}

func readyzNamesNoHost(ctx context.Context, w *world) (string, string, string, bool) {
	live := send(http.MethodGet, w.base+"/readyz", nil)
	down := readyWithDatabaseDown(ctx, w)
	var leaks []string
	for _, s := range []string{"secret_user", "secret_db", "127.0.0.1", ":1", w.dbName, "postgres://"} {
		if strings.Contains(live.body, s) || strings.Contains(down.body, s) {
			leaks = append(leaks, s)
		}
	}
	return "GET /readyz (running system; and its handler with the database down)",
		fmt.Sprintf("%s; down: %s %.120q", live, down, down.body), leakedWord(len(leaks) > 0, strings.Join(leaks, ", ")),
		live.status == http.StatusOK && down.status == http.StatusServiceUnavailable && len(leaks) == 0
}

func leakedWord(leaked bool, what string) string {
	if leaked {
		return "LEAKED " + what
	}
	return "none"
}

func writtenWord(written bool, what string) string {
	if written {
		return "WRITTEN " + what
	}
	return "none"
}

// effects lists the effect of each receipt in a print-receipts answer.
func effects(body string) string {
	var out []string
	for _, part := range strings.Split(body, `"effect":"`)[1:] {
		e, _, _ := strings.Cut(part, `"`)
		out = append(out, e)
	}
	return strings.Join(out, ",")
}

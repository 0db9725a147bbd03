package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"digitalpost/internal/domain/registry"
)

// Batches past their caps, and look-ups past their rate.

// bigBatchLimits are the batch settings of the API-only process that takes the million-row
// batch and the 64 MB line: the bytes are allowed, so that the letter and line caps are what
// is tried (the main worker's MAX_BATCH_BYTES of 1 MiB would refuse both at the door).
const bigBatchBytes = 256 << 20

// bigBatchAPI starts, once, an API-only process of the worker binary with MAX_BATCH_BYTES of
// 256 MiB and the default MAX_BATCH_LETTERS.
func (w *world) bigBatchAPI(ctx context.Context) (*process, error) {
	if w.bigAPI != nil {
		return w.bigAPI, nil
	}
	p, err := w.startAPIProcess(ctx, "api-big-batches", fmt.Sprintf("MAX_BATCH_BYTES=%d", bigBatchBytes))
	w.bigAPI = p
	return p, err
}

// peakRSS is a process's peak resident memory (VmHWM) in MB; resetPeak sets the peak back to
// what the process holds now (Linux: "5" to clear_refs), so the next peak is this case's.
func peakRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return kb >> 10
		}
	}
	return -1
}

func resetPeak(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// memoryBound is how much a refused hostile input may raise a process's peak memory.
const memoryBound = 200 // MB

func millionRowBatch(ctx context.Context, w *world) (string, string, string, bool) {
	p, err := w.bigBatchAPI(ctx)
	if err != nil {
		return "a million-row batch", err.Error(), "", false
	}
	var csv bytes.Buffer
	csv.WriteString("message_id,to,subject,text\n")
	for i := range 1_000_000 {
		fmt.Fprintf(&csv, "r%d,%s,Brev,Tekst\n", i, w.anna.CPR)
	}
	pid := p.cmd.Process.Pid
	reset := resetPeak(pid)
	before := peakRSS(pid)
	r := send(http.MethodPost, p.base+"/v1/batches", bytes.NewReader(csv.Bytes()), "Authorization", "Bearer "+w.keyDocs, "Content-Type", "text/csv")
	after := peakRSS(pid)
	written := w.count(ctx, `SELECT count(*) FROM letters WHERE sender_id = 'dokument' AND message_id = 'r0'`)
	left, _ := os.ReadDir(p.tmp)
	return fmt.Sprintf("a CSV batch of 1,000,000 letters (%d MB) to an API process with MAX_BATCH_BYTES 256 MiB, MAX_BATCH_LETTERS 100,000", csv.Len()>>20),
		fmt.Sprintf("%s %s", r, short(jsonField(r.body, "title")+" "+problemRules(r.body), 120)),
		fmt.Sprintf("letters written %d, temp files left %d; API process peak RSS %d → %d MB (peak reset: %t)", written, len(left), before, after, reset),
		(r.status == http.StatusUnprocessableEntity || r.status == http.StatusRequestEntityTooLarge) &&
			written == 0 && len(left) == 0 && before > 0 && after-before < memoryBound
}

func hugeNDJSONLine(ctx context.Context, w *world) (string, string, string, bool) {
	p, err := w.bigBatchAPI(ctx)
	if err != nil {
		return "a 64 MB NDJSON line", err.Error(), "", false
	}
	line := `{"message_id":"line64","recipient_cpr":"` + w.anna.CPR + `","subject":"Stor","text":"` + strings.Repeat("a", 64<<20) + `"}` + "\n"
	pid := p.cmd.Process.Pid
	reset := resetPeak(pid)
	before := peakRSS(pid)
	r := send(http.MethodPost, p.base+"/v1/batches", strings.NewReader(line), "Authorization", "Bearer "+w.keyDocs, "Content-Type", "application/x-ndjson")
	after := peakRSS(pid)
	// The main worker, with its 1 MiB MAX_BATCH_BYTES, refuses the same line at the door.
	main := send(http.MethodPost, w.base+"/v1/batches", strings.NewReader(line), "Authorization", "Bearer "+w.keyDocs, "Content-Type", "application/x-ndjson")
	written := w.count(ctx, `SELECT count(*) FROM letters WHERE sender_id = 'dokument' AND message_id = 'line64'`)
	left, _ := os.ReadDir(p.tmp)
	ok := func(r reply) bool {
		return r.status == http.StatusUnprocessableEntity || r.status == http.StatusRequestEntityTooLarge
	}
	return "an NDJSON batch of one 64 MB line, to the API process with MAX_BATCH_BYTES 256 MiB and to the main worker (1 MiB)",
		fmt.Sprintf("%s %s; main worker %s", r, short(problemRules(r.body), 110), main),
		fmt.Sprintf("letters written %d, temp files left %d; API process peak RSS %d → %d MB (peak reset: %t)", written, len(left), before, after, reset),
		ok(r) && ok(main) && written == 0 && len(left) == 0 && before > 0 && after-before < memoryBound
}

// problemRules lists the rules of a problem+json answer's errors.
func problemRules(body string) string {
	var out []string
	for _, part := range strings.Split(body, `"rule":"`)[1:] {
		rule, _, _ := strings.Cut(part, `"`)
		out = append(out, rule)
	}
	return strings.Join(out, "; ")
}

// lookupsBurstPlusOne: a sender of its own asks about Anna LOOKUP_BURST + 1 times at once.
// Each answered look-up is in the audit log, under a keyed hash, never the number itself.
func lookupsBurstPlusOne(ctx context.Context, w *world) (string, string, string, bool) {
	const sender = "opslag"
	if err := w.engine.Registry.AddSender(ctx, registry.Sender{ID: sender, Organisation: "Opslag Kommune"}); err != nil {
		return "look-ups", err.Error(), "", false
	}
	_, key, err := w.engine.APIKeys.Create(ctx, sender)
	if err != nil {
		return "look-ups", err.Error(), "", false
	}
	var mu sync.Mutex
	codes := map[int]int{}
	retryAfter := false
	var wg sync.WaitGroup
	for range lookupBurst + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := w.api(key, http.MethodPost, "/v1/recipients/lookup", mustJSON(map[string]string{"recipient_cpr": w.anna.CPR}))
			mu.Lock()
			codes[r.status]++
			retryAfter = retryAfter || (r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") != "")
			mu.Unlock()
		}()
	}
	wg.Wait()
	recorded := w.count(ctx, `SELECT count(*) FROM registry_lookups WHERE sender_id = $1`, sender)
	// The whole table as text (hashes as hex), searched for Anna's number in any form, and
	// her hash compared with the plain SHA-256 of her number, which anyone could compute.
	var table string
	_ = w.db.QueryRow(ctx, `SELECT coalesce(string_agg(l::text || ' ' || encode(l.cpr_hash, 'escape'), E'\n'), '') FROM registry_lookups l`).Scan(&table)
	var leaks []string
	for _, form := range []string{w.anna.CPR, w.anna.Digits} {
		if strings.Contains(table, form) {
			leaks = append(leaks, "CPR number "+form)
		}
		plain := sha256.Sum256([]byte(form))
		if w.count(ctx, `SELECT count(*) FROM registry_lookups WHERE cpr_hash = $1`, plain[:]) > 0 {
			leaks = append(leaks, "unkeyed SHA-256 of "+form)
		}
	}
	return fmt.Sprintf("LOOKUP_BURST+1 = %d look-ups of one citizen at once from one sender", lookupBurst+1),
		fmt.Sprintf("200×%d, 429×%d (Retry-After: %t); registry_lookups rows for the sender %d", codes[200], codes[429], retryAfter, recorded),
		leakedWord(len(leaks) > 0, strings.Join(leaks, ", ")),
		codes[429] >= 1 && retryAfter && codes[200] >= lookupBurst-1 && recorded == codes[200] && len(leaks) == 0
}

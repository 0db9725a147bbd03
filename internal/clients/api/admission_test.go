package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"digitalpost/internal/infra/testenv"
)

// startUpload sends a request's headers and the first bytes of a body of length bytes, then
// holds the connection open, as a slow or hostile client does; stop closes it.
func startUpload(t *testing.T, e *apiEnv, key, path, contentType string, length int64) (stop func()) {
	t.Helper()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: digitalpost\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n{",
		path, key, contentType, length)
	return func() { conn.Close() }
}

// until asks again until the answer is want, or fails after a few seconds.
func until(t *testing.T, want int, ask func() answer) answer {
	t.Helper()
	var a answer
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if a = ask(); a.Status == want {
			return a
		}
	}
	t.Fatalf("wanted %d, the last answer was %d %s", want, a.Status, a.Body)
	return a
}

// One sender's slow uploads held any number of goroutines and bodies: there was no bound
// on requests under way (issue 23, H2). Now a sender has MAX_INFLIGHT_PER_SENDER at once,
// the next is told to come back, and other senders are not held back.
func TestASendersRequestsUnderWayAreBounded(t *testing.T) {
	e := newAPIEnv(t, func(s *testenv.System) { s.Config.MaxInflightPerSender = 2 })
	for n := range 2 {
		defer startUpload(t, e, e.region, "/v1/letters", "application/json", 1000)()
		testenv.Eventually(t, 5*time.Second, "the upload under way", func() bool { return e.api.RequestsUnderWay("region-midt") == n+1 })
	}
	a := until(t, http.StatusTooManyRequests, func() answer { return e.postJSON(t, e.region, "/v1/letters", newLetter("third", annaCPR)) })
	if a.Header.Get("Retry-After") == "" || !strings.Contains(string(a.Body), "MAX_INFLIGHT_PER_SENDER") {
		t.Fatalf("429 without Retry-After or the limit's name: %v %s", a.Header, a.Body)
	}
	if a := e.postJSON(t, e.skat, "/v1/letters", newLetter("skat-1", annaCPR)); a.Status != http.StatusAccepted && a.Status != http.StatusCreated {
		t.Fatalf("another sender is held back by region-midt's uploads: %d %s", a.Status, a.Body)
	}
}

// Bodies under way are bounded together, whatever sender sends them: past
// MAX_INFLIGHT_BYTES the answer is 503 with Retry-After, at once, before the body is read.
func TestBodiesUnderWayAreBoundedForAllSenders(t *testing.T) {
	e := newAPIEnv(t, func(s *testenv.System) { s.Config.MaxInflightBytes = 3 << 20 })
	stop := startUpload(t, e, e.region, "/v1/letters", "application/json", 2<<20)
	defer stop()
	testenv.Eventually(t, 5*time.Second, "the upload under way", func() bool { return e.api.RequestsUnderWay("region-midt") == 1 })
	body := bytes.Repeat([]byte(" "), 1500<<10) // 1.5 MB of JSON whitespace before the object
	a := until(t, http.StatusServiceUnavailable, func() answer {
		return e.do(t, e.skat, http.MethodPost, "/v1/letters", "application/json", append(body, []byte("{}")...))
	})
	if a.Header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %v", a.Header)
	}
	stop() // the budget comes back when the upload ends
	until(t, http.StatusUnprocessableEntity, func() answer {
		return e.do(t, e.skat, http.MethodPost, "/v1/letters", "application/json", append(body, []byte("{}")...))
	})
}

// A body that says it is too large is refused before a byte of it is read.
func TestADeclaredTooLargeBodyIsRefusedAtOnce(t *testing.T) {
	e := newAPIEnv(t, nil)
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/letters/00000000-0000-0000-0000-000000000001/withdraw HTTP/1.1\r\nHost: digitalpost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		e.region, 64<<10+1)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, _ := conn.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 413") {
		t.Fatalf("a body declared one byte over the limit, none sent: %q", buf[:n])
	}
}

// A batch of a million rows was read whole into memory before any rule was checked, up to
// MAX_BATCH_BYTES of 1 GiB (issue 23, H2). Now the run is refused at the first letter past
// MAX_BATCH_LETTERS, and what it cost stays far below what holding it would.
func TestAMillionRowBatchIsRefusedWithoutHoldingIt(t *testing.T) {
	e := newAPIEnv(t, func(s *testenv.System) {
		s.Config.MaxBatchBytes, s.Config.MaxBatchLetters = 256<<20, 1000
	})
	var csv bytes.Buffer
	csv.WriteString("message_id,to,subject,text\n")
	for i := range 1_000_000 {
		fmt.Fprintf(&csv, "m-%d,%s,Brev,Tekst\n", i, annaCPR)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	a := e.do(t, e.region, http.MethodPost, "/v1/batches", "text/csv", csv.Bytes())
	runtime.ReadMemStats(&after)
	if a.Status != http.StatusUnprocessableEntity || !problemFields(a.problem(t).Errors).has("file", "more than 1000 letters") {
		t.Fatalf("a million rows: %d %s", a.Status, a.Body)
	}
	// The file is 33 MB; holding its rows as letters takes several times that.
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 100<<20 {
		t.Fatalf("refusing the run allocated %d MB", allocated>>20)
	}
	if n := e.letterCount(t); n != 0 {
		t.Fatalf("%d letters written", n)
	}
}

// An NDJSON line as large as a letter request (64 MB) was buffered whole; a batch's lines
// are now at most MaxBatchLineBytes.
func TestAnOverlongBatchLineIsRefused(t *testing.T) {
	e := newAPIEnv(t, func(s *testenv.System) { s.Config.MaxBatchBytes = 64 << 20 })
	line := `{"message_id":"big","recipient_cpr":"` + annaCPR + `","subject":"s","text":"` + strings.Repeat("x", 17<<20) + `"}` + "\n"
	a := e.do(t, e.region, http.MethodPost, "/v1/batches", "application/x-ndjson", []byte(line))
	if a.Status != http.StatusUnprocessableEntity || !problemFields(a.problem(t).Errors).has("line 1", "longer than") {
		t.Fatalf("a 17 MB line: %d %s", a.Status, a.Body)
	}
}

// A batch is spooled to a temporary file; a process killed mid-upload left the file, CPR
// numbers and all, in the temporary folder. The file now has no name while it is used.
func TestABatchUploadLeavesNoFileBehind(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := newAPIEnv(t, nil)
	stop := startUpload(t, e, e.region, "/v1/batches", "text/csv", 1<<20)
	defer stop()
	// The upload is being spooled once this process holds the spool file open; the server
	// runs in this process, so its open files are ours to list.
	testenv.Eventually(t, 5*time.Second, "the batch being spooled", func() bool { return openSpoolFile(t) != "" })
	left, err := filepath.Glob(filepath.Join(tmp, "digitalpost-batch-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("a batch being uploaded is a file anyone on the machine can find: %v (open as %s)", left, openSpoolFile(t))
	}
}

// openSpoolFile is what an open file descriptor of this process that is a batch spool file
// points at, or "".
func openSpoolFile(t *testing.T) string {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.Contains(target, "digitalpost-batch-") {
			return target
		}
	}
	return ""
}

// Go's JSON decoder turns bytes that are not UTF-8 into U+FFFD without a word: a letter was
// stored with a subject its sender never wrote. The body is refused instead, in a letter and
// in a batch line.
func TestBytesThatAreNotUTF8AreRefused(t *testing.T) {
	e := newAPIEnv(t, nil)
	letter := []byte(`{"message_id":"latin1","recipient_cpr":"` + annaCPR + `","subject":"K` + "\xf8" + `benhavn","text":"t"}`)
	a := e.do(t, e.region, http.MethodPost, "/v1/letters", "application/json", letter)
	if a.Status != http.StatusBadRequest || !problemFields(a.problem(t).Errors).has("body", "UTF-8") {
		t.Fatalf("a Latin-1 subject: %d %s", a.Status, a.Body)
	}
	a = e.do(t, e.region, http.MethodPost, "/v1/batches", "application/x-ndjson", append(letter, '\n'))
	if a.Status != http.StatusUnprocessableEntity || !problemFields(a.problem(t).Errors).has("line 1", "UTF-8") {
		t.Fatalf("a Latin-1 batch line: %d %s", a.Status, a.Body)
	}
	if n := e.letterCount(t); n != 0 {
		t.Fatalf("%d letters written", n)
	}
}

// Receipts over their limit were answered 400, as if malformed; they are too large.
func TestPrintReceiptsOverTheLimitAre413(t *testing.T) {
	e := newAPIEnv(t, func(s *testenv.System) { s.Config.PrintHouseToken = "print-house-secret" })
	body := append([]byte("["), bytes.Repeat([]byte(" "), 64<<10)...)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/print-receipts", bytes.NewReader(append(body, ']')))
	req.Header.Set("Authorization", "Bearer print-house-secret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("receipts one byte over 64 KiB: %d", resp.StatusCode)
	}
}

// One sender's slow large uploads filled the shared budget, and every other sender got 503
// for as long as they lasted (review of issue 23). A sender holding anything may hold at most
// a quarter of the budget; beyond that it is told to come back, and others get in.
func TestOneSenderCannotTakeTheWholeBudget(t *testing.T) {
	e := newAPIEnv(t, func(s *testenv.System) { s.Config.MaxInflightBytes = 8 << 20 })
	stop := startUpload(t, e, e.region, "/v1/letters", "application/json", 1<<20) // holds 2 MB of 8
	defer stop()
	testenv.Eventually(t, 5*time.Second, "the upload under way", func() bool { return e.api.RequestsUnderWay("region-midt") == 1 })
	body := append(bytes.Repeat([]byte(" "), 512<<10), []byte("{}")...) // 1 MB more would pass 2 MB
	a := e.do(t, e.region, http.MethodPost, "/v1/letters", "application/json", body)
	if a.Status != http.StatusTooManyRequests || a.Header.Get("Retry-After") == "" || !strings.Contains(string(a.Body), "share") {
		t.Fatalf("a second upload beyond the sender's share: %d %s", a.Status, a.Body)
	}
	if a := e.do(t, e.skat, http.MethodPost, "/v1/letters", "application/json", body); a.Status != http.StatusUnprocessableEntity {
		t.Fatalf("another sender beside it: %d %s", a.Status, a.Body)
	}
	// Small requests do not count against the share: with one under way, a sender's one large
	// upload, larger than the share on its own, still goes in.
	small := startUpload(t, e, e.skat, "/v1/letters", "application/json", 1000)
	defer small()
	testenv.Eventually(t, 5*time.Second, "skat's small request under way", func() bool { return e.api.RequestsUnderWay("skat") == 1 })
	large := append(bytes.Repeat([]byte(" "), 1200<<10), []byte("{}")...) // reserves 2.4 MB, over the 2 MB share
	if a := e.do(t, e.skat, http.MethodPost, "/v1/letters", "application/json", large); a.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a large upload beside a small request of the same sender: %d %s", a.Status, a.Body)
	}
}

// A batch sent in chunks (no Content-Length) reserved the whole budget for its body before
// its letters, and so was refused for ever (review of issue 23): its body is on disk, and it
// reserves what it holds once spooled.
func TestAChunkedBatchIsTaken(t *testing.T) {
	e := newAPIEnv(t, func(s *testenv.System) {
		s.Config.MaxInflightBytes, s.Config.MaxBatchBytes, s.Config.MaxBatchLetters = 64<<20, 256<<20, 100_000
	})
	csv := "message_id,to,subject,text\nchunked-1," + annaCPR + ",Brev,Tekst\n"
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/batches", io.NopCloser(strings.NewReader(csv))) // no length: chunked
	req.Header.Set("Authorization", "Bearer "+e.region)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.ContentLength != 0 && req.ContentLength != -1 || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a chunked one-letter batch: %d (length %d)", resp.StatusCode, req.ContentLength)
	}
}

// A one-row batch preview, or a letter refused for who its recipient is, told as much as a
// look-up, at the API's rate and unrecorded (review of issue 23, M2). Each now takes a look-up
// from the sender's look-up rate and is recorded; when none is left, the answer is withheld.
func TestPreviewsAndRecipientRefusalsAreLookUps(t *testing.T) {
	e := newAPIEnv(t, func(s *testenv.System) { s.Config.LookupRatePerSecond, s.Config.LookupBurst = 0.001, 2 })
	preview := e.do(t, e.region, http.MethodPost, "/v1/batches?dry_run=true", "text/csv",
		[]byte("message_id,to,subject,text\np-1,"+erikCPR+",Brev,Tekst\n"))
	if preview.Status != http.StatusOK {
		t.Fatalf("a one-row preview: %d %s", preview.Status, preview.Body)
	}
	refused := e.postJSON(t, e.region, "/v1/letters", newLetter("to-nobody", "111111-1118"))
	if refused.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a letter to someone not in the registry: %d %s", refused.Status, refused.Body)
	}
	// The sender's two look-ups are spent: the next refusal for the recipient is withheld.
	if a := e.postJSON(t, e.region, "/v1/letters", newLetter("to-nobody-2", "111111-1118")); a.Status != http.StatusTooManyRequests {
		t.Fatalf("a third answer about a citizen: %d %s", a.Status, a.Body)
	}
	// A letter refused for another reason is no answer about anyone and still says why.
	bad := newLetter("no-subject", annaCPR)
	bad["subject"] = ""
	if a := e.postJSON(t, e.region, "/v1/letters", bad); a.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a letter without a subject: %d %s", a.Status, a.Body)
	}
	var kinds string
	if err := e.sys.DB.QueryRow(context.Background(), `SELECT string_agg(kind, ',' ORDER BY id) FROM registry_lookups WHERE sender_id = 'region-midt'`).Scan(&kinds); err != nil {
		t.Fatal(err)
	}
	if kinds != "preview,refusal" {
		t.Fatalf("recorded %q, want the preview and the one refusal answered", kinds)
	}
}

package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A redirect after sign-in stays on this site, however the address is dressed up.
func TestSafeNextKeepsRedirectsOnThisSite(t *testing.T) {
	for in, want := range map[string]string{
		"/postkasse":            "/postkasse",
		"/breve/1?x=y":          "/breve/1?x=y",
		"//evil.example":        "/",
		"/\\evil.example":       "/",
		"/%09/evil.example":     "/%09/evil.example", // stays a path on this site: the browser gets no tab
		"/\t/evil.example":      "/",
		"https://evil.example/": "/",
		"":                      "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// A supplied document is never a page of this site: only a PDF is shown, and sandboxed.
func TestDocumentsAreServedSandboxed(t *testing.T) {
	rec := httptest.NewRecorder()
	serveDocument(rec, "x.html", []byte("<html><script>alert(1)</script></html>"))
	if ct, cd := rec.Header().Get("Content-Type"), rec.Header().Get("Content-Disposition"); ct != "application/octet-stream" || cd[:10] != "attachment" {
		t.Fatalf("an HTML document was served as %s, %s", ct, cd)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); csp != "sandbox; default-src 'none'" {
		t.Fatalf("CSP %q", csp)
	}
	rec = httptest.NewRecorder()
	serveDocument(rec, "bilag.pdf", []byte("%PDF-1.7\n..."))
	if ct, cd := rec.Header().Get("Content-Type"), rec.Header().Get("Content-Disposition"); ct != "application/pdf" || cd[:6] != "inline" {
		t.Fatalf("a PDF was served as %s, %s", ct, cd)
	}
}

// A 100 MB multipart body to the sender's sign-in was read whole (and spooled to disk past
// 32 MB) before the 401. Pages take plain forms of at most MaxFormBytes; only the upload route
// takes a file, as large as a document may be (issue 23, M1).
func TestPageFormsAreBoundedBeforeAnyoneReadsThem(t *testing.T) {
	var read int64
	h := boundedForms(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		read += n
		if err != nil {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		}
	}))
	post := func(path, contentType string, body io.Reader, length int64) int {
		req := httptest.NewRequest(http.MethodPost, path, body)
		req.Header.Set("Content-Type", contentType)
		req.ContentLength = length
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	huge := int64(100 << 20)
	if code := post("/log-ind/afsender", "multipart/form-data; boundary=x", io.LimitReader(zeros{}, huge), -1); code != http.StatusUnsupportedMediaType || read != 0 {
		t.Fatalf("multipart to the sign-in: %d after reading %d bytes", code, read)
	}
	if code := post("/log-ind/afsender", "application/x-www-form-urlencoded", io.LimitReader(zeros{}, huge), huge); code != http.StatusRequestEntityTooLarge || read != 0 {
		t.Fatalf("a declared 100 MB form: %d after reading %d bytes", code, read)
	}
	if code := post("/adgang/anmod", "application/x-www-form-urlencoded", io.LimitReader(zeros{}, huge), -1); code != http.StatusRequestEntityTooLarge || read > MaxFormBytes+1 {
		t.Fatalf("an undeclared 100 MB form: %d after reading %d bytes", code, read)
	}
	read = 0
	if code := post("/sagsbehandler/ansoegninger", "multipart/form-data; boundary=x", io.LimitReader(zeros{}, 1<<20), 1<<20); code != http.StatusOK || read != 1<<20 {
		t.Fatalf("an upload of 1 MB: %d after reading %d bytes", code, read)
	}
	if code := post("/profil", "application/x-www-form-urlencoded", strings.NewReader("email=a%40b.dk"), -1); code != http.StatusOK {
		t.Fatalf("a plain small form: %d", code)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

package web

import (
	"net/http/httptest"
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

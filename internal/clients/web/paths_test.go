package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"digitalpost/internal/clients/api"
	"digitalpost/internal/clients/web"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/testenv"
)

// Every page's path reaches the pages through the API's server: a path missing from
// web.Paths would answer the API's problem+json 404 instead.
func TestEveryPageIsMountedOnTheAPIServer(t *testing.T) {
	sys := testenv.StartSystem(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := api.New(sys.Engine.PostOffice, sys.Engine.Config, sys.Engine.Readiness(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	site, err := web.New(pagesOf(sys), quiet, web.Options{Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.MountPages(site, web.Paths)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/", "/log-ind", "/postkasse", "/postkasse/x", "/breve/x", "/breve/x/dokumenter/1", "/profil",
		"/profil/nemsms", "/sagsbehandler", "/sagsbehandler/sager/x", "/sagsbehandler/sager/x/fuldmagt", "/afsender", "/statistik",
		"/static/site.css"} {
		resp, err := noRedirect.Get(hs.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "problem+json") {
			t.Errorf("%s answered the API's %d (%s): not mounted in web.Paths", p, resp.StatusCode, ct)
		}
		// Personal pages are never kept by a browser or a proxy (issue 23, L3).
		if cc := resp.Header.Get("Cache-Control"); (cc == "no-store") == strings.HasPrefix(p, "/static/") {
			t.Errorf("%s: Cache-Control %q", p, cc)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/log-ind", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	if resp, err := noRedirect.Do(req); err != nil || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("behind a TLS proxy the pages send no HSTS: %v", err)
	} else {
		resp.Body.Close()
	}
	for _, p := range []string{"/dev/log-ind", "/adgang/anmod", "/log-ud", "/log-ind/afsender", "/sagsbehandler/ansoegninger"} {
		resp, err := noRedirect.Post(hs.URL+p, "application/x-www-form-urlencoded", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "problem+json") {
			t.Errorf("POST %s answered the API's %d: not mounted in web.Paths", p, resp.StatusCode)
		}
	}
	if resp, err := http.Get(hs.URL + "/v1/no-such-route"); err != nil || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
		t.Fatalf("an unknown API path is no longer the API's 404: %v", err)
	}
}

// A link to an official page with ?besked=… showed the link's text as the authority's notice:
// a phisher's "Your benefit is stopped, call …" on a real page (issue 23, L1). Notices now come
// only from the site's own redirect after a form, and show once.
func TestANoticeInTheLinkIsNotShown(t *testing.T) {
	sys := testenv.StartSystem(t)
	if _, err := sys.Registry.AddCitizen(context.Background(), registry.NewCitizen{CPR: "010180-1234", Name: "Anna Jensen",
		Address: "Vestergade 1\n8000 Aarhus C"}); err != nil {
		t.Fatal(err)
	}
	site, err := web.New(pagesOf(sys), slog.New(slog.NewTextHandler(io.Discard, nil)), web.Options{Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(site)
	t.Cleanup(hs.Close)
	jar, _ := cookiejar.New(nil)
	anna := &http.Client{Jar: jar}
	post := func(path string, form url.Values) string {
		req, _ := http.NewRequest(http.MethodPost, hs.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", hs.URL)
		resp, err := anna.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	get := func(path string) string {
		resp, err := anna.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	post("/dev/log-ind", url.Values{"role": {"citizen"}, "cpr": {"0101801234"}})
	phish := "Din ydelse er stoppet. Ring straks til 70 00 00 00"
	if page := get("/profil?besked=" + url.QueryEscape(phish)); strings.Contains(page, "Din ydelse er stoppet") {
		t.Fatal("the page showed the link's text as its notice")
	} else if !strings.Contains(page, "kontaktoplysninger") {
		t.Fatalf("not the profile page: %.300s", page)
	}
	if page := post("/profil", url.Values{"email": {"anna@example.dk"}, "mobile": {""}}); !strings.Contains(page, "Dine kontaktoplysninger er gemt.") {
		t.Fatalf("the site's own notice after saving is gone: %.300s", page)
	}
	if page := get("/profil"); strings.Contains(page, "Dine kontaktoplysninger er gemt.") {
		t.Fatal("the notice showed twice")
	}
}

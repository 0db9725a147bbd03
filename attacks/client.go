package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// reply is what came back from one request.
type reply struct {
	status int
	body   string
	header http.Header
	err    error
}

func (r reply) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprint(r.status)
}

// noFollow is a client that shows redirects instead of following them.
var noFollow = &http.Client{Timeout: 60 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// send makes one request; headers are name/value pairs.
func send(method, target string, body io.Reader, headers ...string) reply {
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		return reply{err: err}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return reply{status: resp.StatusCode, body: string(b), header: resp.Header}
}

// api calls the senders' API with a key (Authorization: Bearer key); body is JSON or "".
func (w *world) api(key, method, path, body string) reply {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	return send(method, w.base+path, rd, "Authorization", "Bearer "+key, "Content-Type", "application/json")
}

// apiRaw sends a body of any type with a key.
func (w *world) apiRaw(key, method, path, contentType string, body []byte) reply {
	return send(method, w.base+path, bytes.NewReader(body), "Authorization", "Bearer "+key, "Content-Type", contentType)
}

// page fetches a page with a session cookie ("" for none).
func (w *world) page(session, path string) reply {
	return send(http.MethodGet, w.base+path, nil, "Cookie", session)
}

// form posts a form as the site's own page would (same origin), with a session.
func (w *world) form(session, path string, v url.Values) reply {
	return send(http.MethodPost, w.base+path, strings.NewReader(v.Encode()), "Cookie", session,
		"Content-Type", "application/x-www-form-urlencoded", "Origin", w.base, "Sec-Fetch-Site", "same-origin")
}

// crossSite posts a form from another site, with the victim's session (their browser sends it).
func (w *world) crossSite(session, path string, v url.Values) reply {
	return send(http.MethodPost, w.base+path, strings.NewReader(v.Encode()), "Cookie", session,
		"Content-Type", "application/x-www-form-urlencoded", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
}

// multipartLetter builds a POST /v1/letters body as multipart/form-data from raw field bytes.
func multipartLetter(fields map[string]string) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		fw, _ := mw.CreateFormField(k)
		_, _ = fw.Write([]byte(v))
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// jsonField reads one string field of a JSON object ("" when absent).
func jsonField(body, field string) string {
	var m map[string]any
	if json.Unmarshal([]byte(body), &m) != nil {
		return ""
	}
	s, _ := m[field].(string)
	return s
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// cookieOf is "name=value" of a cookie a reply set, or "".
func cookieOf(r reply, name string) string {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

// eventually polls cond until it holds or timeout passes.
func eventually(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// oidcRun is one sign-in under way: the flow cookie the site set and the callback the
// identity provider sent the browser to.
type oidcRun struct {
	flowCookie, callback string
}

// oidcBegin starts a sign-in at the site (with videre as where to go after), and lets the
// identity provider answer as told.
func (w *world) oidcBegin(as signInAs, videre string) (oidcRun, error) {
	path := "/oidc/log-ind"
	if videre != "" {
		path += "?videre=" + url.QueryEscape(videre)
	}
	start := send(http.MethodGet, w.base+path, nil)
	if start.err != nil || start.status != http.StatusFound {
		return oidcRun{}, fmt.Errorf("sign-in start: %s %.200s", start, start.body)
	}
	w.idp.signInNext(as)
	auth := send(http.MethodGet, start.header.Get("Location"), nil)
	if auth.err != nil || auth.status != http.StatusFound {
		return oidcRun{}, fmt.Errorf("identity provider: %s %.200s", auth, auth.body)
	}
	return oidcRun{flowCookie: cookieOf(start, "dp_oidc"), callback: auth.header.Get("Location")}, nil
}

// finish comes back to the site's callback, with the flow cookie or without it.
func (o oidcRun) finish(withCookie bool) reply {
	cookie := ""
	if withCookie {
		cookie = o.flowCookie
	}
	return send(http.MethodGet, o.callback, nil, "Cookie", cookie)
}

// signIn signs a citizen in through the identity provider and returns their session cookie.
func (w *world) signIn(p person) (string, error) {
	run, err := w.oidcBegin(citizenClaims(p), "")
	if err != nil {
		return "", err
	}
	r := run.finish(true)
	session := cookieOf(r, "dp_session")
	if r.status != http.StatusSeeOther || session == "" {
		return "", fmt.Errorf("sign-in of %s: %s %.300s", p.Name, r, r.body)
	}
	return session, nil
}

// citizenClaims is an honest MitID sign-in of a citizen: their CPR number, at NSIS Substantial.
func citizenClaims(p person) signInAs {
	return signInAs{claims: map[string]any{"sub": "mitid-" + p.Digits, "name": p.Name, cprClaim: p.Digits, "acr": acrSubstantial}}
}

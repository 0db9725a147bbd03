package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
)

// Two-way post: replies and messages, from the pages and over the API.

// upload posts a reply form (multipart, with files) with a session, from an origin.
func (w *world) upload(session, path, origin string, fields map[string]string, files map[string][]byte) reply {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for name, content := range files {
		fw, _ := mw.CreateFormFile("filer", name)
		_, _ = fw.Write(content)
	}
	_ = mw.Close()
	site := "same-origin"
	if origin != w.base {
		site = "cross-site"
	}
	return send(http.MethodPost, w.base+path, &buf, "Cookie", session, "Content-Type", mw.FormDataContentType(),
		"Origin", origin, "Sec-Fetch-Site", site)
}

// messagesBy counts the citizen's stored replies and messages.
func (w *world) messagesBy(ctx context.Context, p person) int {
	var n int
	_ = w.engine.DB.QueryRow(ctx, `SELECT count(*) FROM citizen_messages WHERE citizen_id = $1::uuid`, p.ID).Scan(&n)
	return n
}

func replyToOthersLetter(ctx context.Context, w *world) (string, string, string, bool) {
	r := w.upload(w.boSession, "/breve/"+w.letterReplies.String()+"/svar", w.base, map[string]string{"key": "bo-1", "tekst": "Jeg svarer for Anna."}, nil)
	n := w.messagesBy(ctx, w.bo)
	return "citizen Bo: POST /breve/{Anna's letter that takes replies}/svar", r.String(), fmt.Sprintf("%d replies stored by Bo", n),
		r.status == http.StatusNotFound && n == 0
}

func crossSiteReply(ctx context.Context, w *world) (string, string, string, bool) {
	before := w.messagesBy(ctx, w.anna)
	r := w.upload(w.annaSession, "/breve/"+w.letterReplies.String()+"/svar", "https://evil.example", map[string]string{"key": "evil-1", "tekst": "Forfalsket svar."}, nil)
	after := w.messagesBy(ctx, w.anna)
	return "another site posts a reply with Anna's session (her browser sends the cookie)", r.String(), fmt.Sprintf("Anna's messages %d → %d", before, after),
		r.status == http.StatusForbidden && after == before
}

func replyWithDisguisedFile(ctx context.Context, w *world) (string, string, string, bool) {
	before := w.messagesBy(ctx, w.anna)
	page := []byte("<html><script>alert(document.cookie)</script></html>")
	r := w.upload(w.annaSession, "/breve/"+w.letterReplies.String()+"/svar", w.base, map[string]string{"key": "html-1", "tekst": "Se bilag."},
		map[string][]byte{"bilag.pdf": page})
	after := w.messagesBy(ctx, w.anna)
	return "citizen Anna replies with an HTML page named bilag.pdf", r.String(), fmt.Sprintf("Anna's messages %d → %d", before, after),
		r.status == http.StatusUnprocessableEntity && after == before
}

func othersSentMessage(ctx context.Context, w *world) (string, string, string, bool) {
	msg := w.page(w.boSession, "/sendt/"+w.annaReply.String())
	file := w.page(w.boSession, "/sendt/"+w.annaReply.String()+"/filer/1")
	leaked := strings.Contains(msg.body, "CPR-oplysninger") || strings.HasPrefix(file.body, "%PDF")
	return "citizen Bo: GET /sendt/{Anna's reply} and its file", fmt.Sprintf("%s, %s", msg, file), leakedWord(leaked, "Anna's reply"),
		msg.status == http.StatusNotFound && file.status == http.StatusNotFound && !leaked
}

func othersCitizenMessages(ctx context.Context, w *world) (string, string, string, bool) {
	one := w.api(w.keyC, http.MethodGet, "/v1/messages/"+w.annaReply.String(), "")
	file := w.api(w.keyC, http.MethodGet, "/v1/messages/"+w.annaReply.String()+"/attachments/1", "")
	handled := w.api(w.keyC, http.MethodPost, "/v1/messages/"+w.annaReply.String()+"/handled", "")
	list := w.api(w.keyC, http.MethodGet, "/v1/messages?limit=1000", "")
	answer := w.api(w.keyC, http.MethodPost, "/v1/letters", mustJSON(map[string]any{"message_id": "steal-thread", "recipient_cpr": w.anna.CPR,
		"subject": "Svar", "text": "Vi svarer for regionen.", "in_reply_to": w.annaReply.String()}))
	var handledAt *string
	_ = w.engine.DB.QueryRow(ctx, `SELECT handled_at::text FROM citizen_messages WHERE id = $1`, w.annaReply).Scan(&handledAt)
	leaked := strings.Contains(one.body, "CPR-oplysninger") || strings.HasPrefix(file.body, "%PDF") || strings.Contains(list.body, w.annaReply.String())
	return "sender skat: GET, attachment, handled and in_reply_to on region-midt's reply", fmt.Sprintf("%s, %s, %s, list %s, answer %s", one, file, handled, list, answer),
		leakedWord(leaked, "the reply") + fmt.Sprintf("; handled_at %v", handledAt),
		one.status == 404 && file.status == 404 && handled.status == 404 && list.status == 200 && answer.status == 422 && !leaked && handledAt == nil
}

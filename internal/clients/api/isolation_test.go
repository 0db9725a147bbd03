package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/adapters/webhooks"
	"digitalpost/internal/clients/api"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/testenv"
)

// isolation is one route tried with skat's key against region-midt's own objects. try makes
// region-midt's objects itself (nothing is shared with the other rows, so a row run alone
// proves as much as the whole table), checks region-midt sees them, and then that skat gets
// a 404, or only its own data, and changes nothing of region-midt's.
type isolation struct {
	route string
	try   func(t *testing.T, e *apiEnv, x isolationRow)
}

// isolationRow is what a row has to work with: its own unique name for message ids and URLs.
type isolationRow struct{ name string }

func (x isolationRow) id(what string) string { return x.name + "-" + what }

// routed makes a request and checks that the path takes the route the row is about (a typo
// in a row's path would otherwise test the catch-all 404).
func (e *apiEnv) routed(t *testing.T, route, key, path, contentType string, body []byte) answer {
	t.Helper()
	method, _, _ := strings.Cut(route, " ")
	if got := e.api.RouteOf(method, path); got != route {
		t.Fatalf("%s %s takes route %q, not %q", method, path, got, route)
	}
	return e.do(t, key, method, path, contentType, body)
}

func (e *apiEnv) routedJSON(t *testing.T, route, key, path string, v any) answer {
	t.Helper()
	b, _ := json.Marshal(v)
	return e.routed(t, route, key, path, "application/json", b)
}

// ownLetter is a letter of region-midt's, made for one row.
func (e *apiEnv) ownLetter(t *testing.T, messageID string, extra map[string]any) letterJSON {
	t.Helper()
	body := newLetter(messageID, annaCPR)
	for k, v := range extra {
		body[k] = v
	}
	a := e.postJSON(t, e.region, "/v1/letters", body)
	var l letterJSON
	a.json(t, &l)
	if a.Status != http.StatusCreated {
		t.Fatalf("region-midt's letter %s: %d %s", messageID, a.Status, a.Body)
	}
	return l
}

// sendersOf are the senders of the letters with these ids, as stored.
func (e *apiEnv) sendersOf(t *testing.T, ids []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range ids {
		var s string
		if err := e.sys.DB.QueryRow(context.Background(), `SELECT sender_id FROM letters WHERE id = $1`, id).Scan(&s); err != nil {
			t.Fatalf("letter %s: %v", id, err)
		}
		out[id] = s
	}
	return out
}

func (e *apiEnv) ownBatch(t *testing.T, file string) (batchID string, created int) {
	t.Helper()
	a := e.do(t, e.region, http.MethodPost, "/v1/batches", "text/csv", []byte(file))
	var acc struct {
		BatchID string `json:"batch_id"`
		New     int    `json:"new"`
	}
	a.json(t, &acc)
	if a.Status != http.StatusAccepted {
		t.Fatalf("region-midt's batch: %d %s", a.Status, a.Body)
	}
	return acc.BatchID, acc.New
}

func (e *apiEnv) ownNemSMS(t *testing.T, messageID string) string {
	t.Helper()
	a := e.postJSON(t, e.region, "/v1/nemsms", map[string]any{"message_id": messageID, "recipient_cpr": annaCPR, "text": "Din tid er flyttet."})
	var m struct {
		ID string `json:"id"`
	}
	a.json(t, &m)
	if a.Status != http.StatusCreated {
		t.Fatalf("region-midt's NemSMS: %d %s", a.Status, a.Body)
	}
	return m.ID
}

// ownMessage is a citizen's message to region-midt, made for one row.
func (e *apiEnv) ownMessage(t *testing.T, x isolationRow) string {
	t.Helper()
	ctx := context.Background()
	if err := e.sys.PostOffice.Post.AddContactPoint(ctx, citizenpost.ContactPoint{SenderID: "region-midt", ID: "patientkontoret", Name: "Patientkontoret", ForCitizens: true}); err != nil {
		t.Fatal(err)
	}
	n, _ := cpr.Parse(annaCPR)
	anna, err := e.sys.Registry.CitizenByCPR(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _, err := print.Render(print.Sheet{Subject: "Bilag", Body: "Bilag"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := e.sys.PostOffice.Write(ctx, postoffice.CitizenPost{Author: anna.ID, SenderID: "region-midt", ContactPoint: "patientkontoret",
		Subject: "Spørgsmål", Text: "Tekst", Files: []letters.Document{{Filename: "bilag.pdf", Content: pdf}}, FormKey: x.id("form")})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID.String()
}

// ownWebhook gives region-midt a webhook of the row's own, and skat none.
func (e *apiEnv) ownWebhook(t *testing.T, x isolationRow) string {
	t.Helper()
	ctx := context.Background()
	if err := e.sys.Webhooks.Remove(ctx, "skat"); err != nil && !errors.Is(err, webhooks.ErrNone) {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:9/" + x.id("hook") // nothing listens: nothing is delivered
	if _, err := e.sys.Webhooks.Set(ctx, "region-midt", url); err != nil {
		t.Fatal(err)
	}
	return url
}

func (e *apiEnv) webhookURL(t *testing.T, sender string) string {
	t.Helper()
	w, err := e.sys.Webhooks.Get(context.Background(), sender)
	if errors.Is(err, webhooks.ErrNone) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return w.URL
}

var isolations = []isolation{
	{"GET /v1/openapi.yaml", func(t *testing.T, e *apiEnv, _ isolationRow) {
		// Public, and the same for everyone: it carries no sender's data.
		for _, key := range []string{"", e.skat, e.region} {
			if a := e.routed(t, "GET /v1/openapi.yaml", key, "/v1/openapi.yaml", "", nil); a.Status != 200 || !bytes.Equal(a.Body, api.OpenAPI) {
				t.Fatalf("the document: %d", a.Status)
			}
		}
	}},
	{"GET /v1/keys", func(t *testing.T, e *apiEnv, _ isolationRow) {
		// Public, and the same for everyone: the keys anyone given a dossier checks it with.
		var bodies []string
		for _, key := range []string{"", e.skat, e.region} {
			a := e.routed(t, "GET /v1/keys", key, "/v1/keys", "", nil)
			if a.Status != http.StatusOK {
				t.Fatalf("GET /v1/keys: %d", a.Status)
			}
			bodies = append(bodies, string(a.Body))
		}
		if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
			t.Fatalf("the keys differ by who asks: %v", bodies)
		}
	}},
	{"GET /v1/letters/{id}/dossier", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownLetter(t, x.id("letter"), nil)
		if a := e.routed(t, "GET /v1/letters/{id}/dossier", e.region, "/v1/letters/"+mine.ID+"/dossier", "", nil); a.Status != 200 {
			t.Fatalf("region-midt's own dossier: %d %s", a.Status, a.Body)
		}
		if a := e.routed(t, "GET /v1/letters/{id}/dossier", e.skat, "/v1/letters/"+mine.ID+"/dossier?format=pdf", "", nil); a.Status != 404 || bytes.HasPrefix(a.Body, []byte("%PDF")) {
			t.Fatalf("skat reads region-midt's dossier: %d", a.Status)
		}
	}},
	{"POST /v1/letters", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownLetter(t, x.id("letter"), nil)
		// The same message id from skat is skat's own letter, not region-midt's answered back.
		a := e.routedJSON(t, "POST /v1/letters", e.skat, "/v1/letters", newLetter(x.id("letter"), annaCPR))
		var theirs letterJSON
		a.json(t, &theirs)
		if a.Status != http.StatusCreated || theirs.ID == mine.ID {
			t.Fatalf("skat's letter with region-midt's message id: %d %s", a.Status, a.Body)
		}
		if s := e.sendersOf(t, []string{mine.ID, theirs.ID}); s[mine.ID] != "region-midt" || s[theirs.ID] != "skat" {
			t.Fatalf("senders %v", s)
		}
	}},
	{"GET /v1/letters", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownLetter(t, x.id("letter"), nil)
		list := func(key string) []string {
			var page struct {
				Letters []letterJSON `json:"letters"`
			}
			a := e.routed(t, "GET /v1/letters", key, "/v1/letters?limit=1000", "", nil)
			a.json(t, &page)
			if a.Status != 200 {
				t.Fatalf("list: %d %s", a.Status, a.Body)
			}
			var ids []string
			for _, l := range page.Letters {
				ids = append(ids, l.ID)
			}
			return ids
		}
		if !slices.Contains(list(e.region), mine.ID) {
			t.Fatal("region-midt's own list lacks its letter")
		}
		for id, sender := range e.sendersOf(t, list(e.skat)) {
			if sender != "skat" {
				t.Fatalf("skat's list shows %s's letter %s", sender, id)
			}
		}
	}},
	{"GET /v1/letters/{id}", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownLetter(t, x.id("letter"), nil)
		if a := e.routed(t, "GET /v1/letters/{id}", e.region, "/v1/letters/"+mine.ID, "", nil); a.Status != 200 {
			t.Fatalf("region-midt's own letter: %d", a.Status)
		}
		if a := e.routed(t, "GET /v1/letters/{id}", e.skat, "/v1/letters/"+mine.ID, "", nil); a.Status != 404 {
			t.Fatalf("skat reads region-midt's letter: %d %s", a.Status, a.Body)
		}
	}},
	{"POST /v1/letters/{id}/withdraw", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownLetter(t, x.id("letter"), nil)
		if a := e.routedJSON(t, "POST /v1/letters/{id}/withdraw", e.skat, "/v1/letters/"+mine.ID+"/withdraw", map[string]string{"reason": "x"}); a.Status != 404 {
			t.Fatalf("skat withdraws region-midt's letter: %d %s", a.Status, a.Body)
		}
		e.waitForStatus(t, e.region, mine.ID, "notified") // it went on as if skat had not asked
		if l := e.letter(t, e.region, mine.ID); l.Status == "withdrawn" {
			t.Fatal("region-midt's letter was withdrawn")
		}
	}},
	{"POST /v1/letters/{id}/appointment", func(t *testing.T, e *apiEnv, x isolationRow) {
		at := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		mine := e.ownLetter(t, x.id("letter"), map[string]any{"appointment_at": at.Format(time.RFC3339)})
		e.waitForStatus(t, e.region, mine.ID, "notified") // where the owner could move it
		a := e.routedJSON(t, "POST /v1/letters/{id}/appointment", e.skat, "/v1/letters/"+mine.ID+"/appointment",
			map[string]string{"appointment_at": at.Add(24 * time.Hour).Format(time.RFC3339)})
		if a.Status != 404 {
			t.Fatalf("skat moves region-midt's appointment: %d %s", a.Status, a.Body)
		}
		var l struct {
			AppointmentAt time.Time `json:"appointment_at"`
		}
		e.get(t, e.region, "/v1/letters/"+mine.ID).json(t, &l)
		if !l.AppointmentAt.Equal(at) {
			t.Fatalf("region-midt's appointment is now %s, was %s", l.AppointmentAt, at)
		}
	}},
	{"POST /v1/nemsms", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownNemSMS(t, x.id("sms"))
		a := e.routedJSON(t, "POST /v1/nemsms", e.skat, "/v1/nemsms", map[string]any{"message_id": x.id("sms"), "recipient_cpr": annaCPR, "text": "Din tid er flyttet."})
		var theirs struct {
			ID string `json:"id"`
		}
		a.json(t, &theirs)
		if a.Status != http.StatusCreated || theirs.ID == mine {
			t.Fatalf("skat's NemSMS with region-midt's message id: %d %s", a.Status, a.Body)
		}
	}},
	{"GET /v1/nemsms/{id}", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownNemSMS(t, x.id("sms"))
		if a := e.routed(t, "GET /v1/nemsms/{id}", e.region, "/v1/nemsms/"+mine, "", nil); a.Status != 200 {
			t.Fatalf("region-midt's own message: %d", a.Status)
		}
		if a := e.routed(t, "GET /v1/nemsms/{id}", e.skat, "/v1/nemsms/"+mine, "", nil); a.Status != 404 {
			t.Fatalf("skat reads region-midt's message: %d %s", a.Status, a.Body)
		}
	}},
	{"GET /v1/messages", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownMessage(t, x)
		for key, want := range map[string]bool{e.region: true, e.skat: false} {
			var page struct {
				Messages []struct {
					ID string `json:"id"`
				} `json:"messages"`
			}
			e.routed(t, "GET /v1/messages", key, "/v1/messages?limit=1000", "", nil).json(t, &page)
			found := slices.ContainsFunc(page.Messages, func(m struct {
				ID string `json:"id"`
			}) bool {
				return m.ID == mine
			})
			if found != want {
				t.Fatalf("region-midt's message listed for the key of %v: %t", want, found)
			}
		}
	}},
	{"GET /v1/messages/{id}", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownMessage(t, x)
		if a := e.routed(t, "GET /v1/messages/{id}", e.region, "/v1/messages/"+mine, "", nil); a.Status != 200 {
			t.Fatalf("region-midt's own message: %d", a.Status)
		}
		if a := e.routed(t, "GET /v1/messages/{id}", e.skat, "/v1/messages/"+mine, "", nil); a.Status != 404 {
			t.Fatalf("skat reads region-midt's message: %d %s", a.Status, a.Body)
		}
	}},
	{"GET /v1/messages/{id}/attachments/{n}", func(t *testing.T, e *apiEnv, x isolationRow) {
		path := "/v1/messages/" + e.ownMessage(t, x) + "/attachments/1"
		if a := e.routed(t, "GET /v1/messages/{id}/attachments/{n}", e.region, path, "", nil); a.Status != 200 {
			t.Fatalf("region-midt's own attachment: %d", a.Status)
		}
		if a := e.routed(t, "GET /v1/messages/{id}/attachments/{n}", e.skat, path, "", nil); a.Status != 404 || bytes.Contains(a.Body, []byte("%PDF")) {
			t.Fatalf("skat reads region-midt's attachment: %d", a.Status)
		}
	}},
	{"POST /v1/messages/{id}/handled", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownMessage(t, x)
		if a := e.routed(t, "POST /v1/messages/{id}/handled", e.skat, "/v1/messages/"+mine+"/handled", "", nil); a.Status != 404 {
			t.Fatalf("skat marks region-midt's message handled: %d %s", a.Status, a.Body)
		}
		var m struct {
			Handled bool `json:"handled"`
		}
		e.get(t, e.region, "/v1/messages/"+mine).json(t, &m)
		if m.Handled {
			t.Fatal("skat's attempt marked region-midt's message handled")
		}
	}},
	{"POST /v1/batches", func(t *testing.T, e *apiEnv, x isolationRow) {
		file := "message_id,to,subject,text\n" + x.id("b1") + "," + annaCPR + ",Emne,Tekst\n"
		mine, _ := e.ownBatch(t, file)
		// The same file from skat is skat's own batch of new letters, not region-midt's.
		a := e.routed(t, "POST /v1/batches", e.skat, "/v1/batches", "text/csv", []byte(file))
		var theirs struct {
			BatchID string `json:"batch_id"`
			New     int    `json:"new"`
		}
		a.json(t, &theirs)
		if a.Status != http.StatusAccepted || theirs.BatchID == mine || theirs.New != 1 {
			t.Fatalf("skat's batch of region-midt's file: %d %s", a.Status, a.Body)
		}
	}},
	{"GET /v1/batches/{id}", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine, _ := e.ownBatch(t, "message_id,to,subject,text\n"+x.id("b1")+","+annaCPR+",Emne,Tekst\n")
		if a := e.routed(t, "GET /v1/batches/{id}", e.region, "/v1/batches/"+mine, "", nil); a.Status != 200 {
			t.Fatalf("region-midt's own batch: %d", a.Status)
		}
		if a := e.routed(t, "GET /v1/batches/{id}", e.skat, "/v1/batches/"+mine, "", nil); a.Status != 404 {
			t.Fatalf("skat reads region-midt's batch: %d %s", a.Status, a.Body)
		}
	}},
	{"POST /v1/recipients/lookup", func(t *testing.T, e *apiEnv, _ isolationRow) {
		// The registry is everyone's; a look-up is recorded as the asker's, and the answer
		// says nothing of who else looked the citizen up.
		erik, err := cpr.Parse(erikCPR)
		if err != nil {
			t.Fatal(err)
		}
		count := func(sender string) int {
			seen, err := e.sys.Lookups.Of(context.Background(), erik)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, l := range seen {
				if l.SenderID == sender {
					n++
				}
			}
			return n
		}
		mine := e.routedJSON(t, "POST /v1/recipients/lookup", e.region, "/v1/recipients/lookup", map[string]string{"recipient_cpr": erikCPR})
		regionBefore, skatBefore := count("region-midt"), count("skat")
		theirs := e.routedJSON(t, "POST /v1/recipients/lookup", e.skat, "/v1/recipients/lookup", map[string]string{"recipient_cpr": erikCPR})
		if mine.Status != 200 || theirs.Status != 200 || !bytes.Equal(mine.Body, theirs.Body) {
			t.Fatalf("the same citizen answers region-midt %s and skat %s", mine.Body, theirs.Body)
		}
		if count("region-midt") != regionBefore || count("skat") != skatBefore+1 {
			t.Fatal("skat's look-up was not recorded as skat's")
		}
	}},
	{"GET /v1/events", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownLetter(t, x.id("letter"), nil)
		feed := func(key string) []eventJSON {
			var all []eventJSON
			for cursor := ""; ; {
				var page struct {
					Events     []eventJSON `json:"events"`
					NextCursor string      `json:"next_cursor"`
				}
				e.routed(t, "GET /v1/events", key, "/v1/events?limit=1000&after="+cursor, "", nil).json(t, &page)
				if len(page.Events) == 0 {
					return all
				}
				all, cursor = append(all, page.Events...), page.NextCursor
			}
		}
		testenv.Eventually(t, 30*time.Second, "region-midt's own event", func() bool {
			return slices.ContainsFunc(feed(e.region), func(ev eventJSON) bool { return ev.LetterID == mine.ID })
		})
		var letters []string
		for _, ev := range feed(e.skat) {
			letters = append(letters, ev.LetterID)
		}
		for id, sender := range e.sendersOf(t, letters) {
			if sender != "skat" {
				t.Fatalf("skat's feed shows an event of %s's letter %s", sender, id)
			}
		}
	}},
	{"PUT /v1/webhook", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownWebhook(t, x)
		a := e.routed(t, "PUT /v1/webhook", e.skat, "/v1/webhook", "application/json", []byte(`{"url":"http://127.0.0.1:9/`+x.id("skat")+`"}`))
		if a.Status != 200 {
			t.Fatalf("skat's own webhook: %d %s", a.Status, a.Body)
		}
		if got := e.webhookURL(t, "region-midt"); got != mine {
			t.Fatalf("region-midt's webhook is now %q", got)
		}
		if got := e.webhookURL(t, "skat"); !strings.HasSuffix(got, x.id("skat")) {
			t.Fatalf("skat's webhook is %q", got)
		}
	}},
	{"GET /v1/webhook", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownWebhook(t, x)
		if a := e.routed(t, "GET /v1/webhook", e.region, "/v1/webhook", "", nil); a.Status != 200 || !strings.Contains(string(a.Body), mine) {
			t.Fatalf("region-midt's own webhook: %d %s", a.Status, a.Body)
		}
		if a := e.routed(t, "GET /v1/webhook", e.skat, "/v1/webhook", "", nil); a.Status != 404 || strings.Contains(string(a.Body), mine) {
			t.Fatalf("skat reads region-midt's webhook: %d %s", a.Status, a.Body)
		}
	}},
	{"DELETE /v1/webhook", func(t *testing.T, e *apiEnv, x isolationRow) {
		mine := e.ownWebhook(t, x)
		if a := e.routed(t, "DELETE /v1/webhook", e.skat, "/v1/webhook", "", nil); a.Status != 404 {
			t.Fatalf("skat deletes a webhook it does not have: %d %s", a.Status, a.Body)
		}
		if got := e.webhookURL(t, "region-midt"); got != mine {
			t.Fatalf("region-midt's webhook is now %q", got)
		}
	}},
	{"POST /v1/print-receipts", func(t *testing.T, e *apiEnv, x isolationRow) {
		// The print house's route: no sender's key opens it, for a job of its own or another's.
		mine := e.ownLetter(t, x.id("paper"), map[string]any{"physical_only": true})
		e.waitForStatus(t, e.region, mine.ID, "printed")
		jobs, err := e.sys.PrintJobs.ForLetter(context.Background(), mustUUID(t, mine.ID))
		if err != nil || len(jobs) != 1 {
			t.Fatalf("print jobs %+v %v", jobs, err)
		}
		body := fmt.Sprintf(`[{"job_id":%q,"outcome":"failed","at":%q}]`, jobs[0].JobID, time.Now().UTC().Format(time.RFC3339))
		for _, key := range []string{e.skat, e.region} {
			if a := e.routed(t, "POST /v1/print-receipts", key, "/v1/print-receipts", "application/json", []byte(body)); a.Status != 401 {
				t.Fatalf("a sender's key posts print receipts: %d %s", a.Status, a.Body)
			}
		}
		if l := e.letter(t, e.region, mine.ID); l.Status != "printed" {
			t.Fatalf("the letter is %s after receipts no one may post", l.Status)
		}
	}},
}

// Every /v1 route the server registers, tried with another sender's key against the first
// sender's objects: a 404, or only the caller's own data, and nothing of the first sender's
// changed. The routes come from the code that registers them; one without a row fails here.
func TestEveryV1RouteKeepsSendersApart(t *testing.T) {
	registered, err := api.RegisteredRoutes()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, row := range isolations {
		rows[row.route] = true
	}
	e := newAPIEnv(t, func(s *testenv.System) { s.Config.PrintHouseToken = "print-house-secret" })
	var v1 []string
	for _, r := range registered {
		method, path, _ := strings.Cut(r, " ")
		if strings.HasPrefix(path, "/v1/") {
			// A pattern found in the source is one the mux routes to.
			if got := e.api.RouteOf(method, strings.ReplaceAll(path, "{id}", uuid.NewString())); got != r {
				t.Errorf("%s is in the source, but the server takes such a request to %q", r, got)
			}
			v1 = append(v1, r)
			if !rows[r] {
				t.Errorf("route %s has no row in the sender isolation table", r)
			}
		}
	}
	for r := range rows {
		if !slices.Contains(v1, r) {
			t.Errorf("the table has a row for %s, which the server does not register", r)
		}
	}
	if len(v1) < len(isolations) || t.Failed() {
		t.FailNow()
	}
	if _, err := e.sys.Desk.SubscribeNemSMS(context.Background(), annaCPR, e.sys.NemSMS.Terms, ""); err != nil {
		t.Fatal(err)
	}
	for _, row := range isolations {
		t.Run(row.route, func(t *testing.T) {
			row.try(t, e, isolationRow{name: "iso-" + uuid.NewString()[:8]})
		})
	}
}

// Package providerfake runs local HTTP servers that speak the parts of Twilio's and
// SendGrid's APIs we use, checking each request as those APIs define it. Tests and the
// bench point the real twilio-go and sendgrid-go clients at them.
package providerfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Outage is how a fake misbehaves until it is cleared: it answers every request with
// Status (and Retry-After, when set), or holds each request for Hang before answering 503
// without accepting it, as a provider whose load balancer stalls.
type Outage struct {
	Status     int
	RetryAfter string
	Hang       time.Duration
}

// faults is the misbehaviour and the request log both fakes share.
type faults struct {
	mu       sync.Mutex
	outage   *Outage
	arrivals []time.Time // accepted messages, in order of arrival
	requests atomic.Int64
}

// SetOutage makes the fake misbehave until ClearOutage.
func (f *faults) SetOutage(o Outage) { f.mu.Lock(); f.outage = &o; f.mu.Unlock() }

// ClearOutage makes the fake answer normally again.
func (f *faults) ClearOutage() { f.mu.Lock(); f.outage = nil; f.mu.Unlock() }

// Arrivals returns when each accepted message arrived.
func (f *faults) Arrivals() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.arrivals...)
}

// Requests counts every request, accepted or not.
func (f *faults) Requests() int { return int(f.requests.Load()) }

// MaxInOneSecond is the most messages accepted within any one second: what a provider's
// rate limiter would see.
func (f *faults) MaxInOneSecond() int {
	times := f.Arrivals()
	most := 0
	for i, j := 0, 0; j < len(times); j++ {
		for times[j].Sub(times[i]) >= time.Second {
			i++
		}
		most = max(most, j-i+1)
	}
	return most
}

// misbehave answers according to the outage, if any, and says whether it did.
func (f *faults) misbehave(w http.ResponseWriter, r *http.Request, answer func(w http.ResponseWriter, status int)) bool {
	f.requests.Add(1)
	f.mu.Lock()
	o := f.outage
	f.mu.Unlock()
	if o == nil {
		return false
	}
	if o.Hang > 0 {
		select {
		case <-time.After(o.Hang):
		case <-r.Context().Done():
			return true
		}
	}
	if o.RetryAfter != "" {
		w.Header().Set("Retry-After", o.RetryAfter)
	}
	status := o.Status
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	answer(w, status)
	return true
}

func (f *faults) accepted() {
	f.mu.Lock()
	f.arrivals = append(f.arrivals, time.Now())
	f.mu.Unlock()
}

// SMS is one message Twilio accepted.
type SMS struct{ To, From, Body string }

// Twilio fakes POST /2010-04-01/Accounts/{sid}/Messages.json.
type Twilio struct {
	faults
	Server     *httptest.Server
	AccountSID string
	AuthToken  string
	mu         sync.Mutex
	messages   []SMS
	failNext   atomic.Int32 // answer this many requests with 503
	seq        atomic.Int64
	// OnMessage, when set before use, hears of each accepted message (the bench times notices with it).
	OnMessage func(SMS)
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// NewTwilio starts the fake; close it with Server.Close.
func NewTwilio() *Twilio {
	t := &Twilio{AccountSID: "AC00000000000000000000000000000001", AuthToken: "0123456789abcdef0123456789abcdef"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", t.create)
	t.Server = httptest.NewServer(mux)
	return t
}

func (t *Twilio) create(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != t.AccountSID || pass != t.AuthToken || r.PathValue("sid") != t.AccountSID {
		twilioError(w, 401, 20003, "Authenticate")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		twilioError(w, 400, 20001, "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	if t.failNext.Load() > 0 {
		t.failNext.Add(-1)
		twilioError(w, 503, 20503, "Service unavailable")
		return
	}
	if t.misbehave(w, r, func(w http.ResponseWriter, status int) {
		code, message := 20503, http.StatusText(status)
		switch status {
		case http.StatusTooManyRequests:
			code = 20429
		case http.StatusBadRequest: // as Twilio refuses a number: its message quotes it
			code, message = 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", r.FormValue("To"))
		}
		twilioError(w, status, code, message)
	}) {
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, 400, 20001, err.Error())
		return
	}
	m := SMS{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Body: r.PostForm.Get("Body")}
	switch {
	case !e164.MatchString(m.To):
		twilioError(w, 400, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", m.To))
		return
	case m.From == "":
		twilioError(w, 400, 21603, "A 'From' phone number is required.")
		return
	case m.Body == "" || len([]rune(m.Body)) > 1600:
		twilioError(w, 400, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	t.mu.Lock()
	t.messages = append(t.messages, m)
	t.mu.Unlock()
	t.accepted()
	if t.OnMessage != nil {
		t.OnMessage(m)
	}
	sid := fmt.Sprintf("SM%032d", t.seq.Add(1))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"sid": sid, "account_sid": t.AccountSID, "to": m.To, "from": m.From, "body": m.Body,
		"status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
		"uri": "/2010-04-01/Accounts/" + t.AccountSID + "/Messages/" + sid + ".json",
	})
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)})
}

// Messages returns what was accepted so far.
func (t *Twilio) Messages() []SMS {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]SMS(nil), t.messages...)
}

// FailNext makes the next n requests fail with 503, as during an outage.
func (t *Twilio) FailNext(n int) { t.failNext.Store(int32(n)) }

// Mail is one e-mail SendGrid accepted.
type Mail struct {
	To, From, Subject, Text string
}

// SendGrid fakes POST /v3/mail/send.
type SendGrid struct {
	faults
	Server *httptest.Server
	APIKey string
	mu     sync.Mutex
	mails  []Mail
	seq    atomic.Int64
	// OnMail, when set before use, hears of each accepted e-mail.
	OnMail func(Mail)
}

// NewSendGrid starts the fake; close it with Server.Close.
func NewSendGrid() *SendGrid {
	s := &SendGrid{APIKey: "SG.test-key"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/mail/send", s.send)
	s.Server = httptest.NewServer(mux)
	return s
}

type sgAddress struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type sgRequest struct {
	Personalizations []struct {
		To []sgAddress `json:"to"`
	} `json:"personalizations"`
	From    *sgAddress `json:"from"`
	Subject string     `json:"subject"`
	Content []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"content"`
}

func (s *SendGrid) send(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.APIKey {
		sgError(w, 401, "The provided authorization grant is invalid, expired, or revoked")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		sgError(w, 415, "Content-Type should be application/json.")
		return
	}
	if s.misbehave(w, r, func(w http.ResponseWriter, status int) { sgError(w, status, http.StatusText(status)) }) {
		return
	}
	var req sgRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		sgError(w, 400, "Bad Request")
		return
	}
	switch {
	case len(req.Personalizations) == 0 || len(req.Personalizations[0].To) == 0:
		sgError(w, 400, "The personalizations field is required and must have at least one personalization.")
		return
	case req.From == nil || !strings.Contains(req.From.Email, "@"):
		sgError(w, 400, "The from object must be provided for every email send.")
		return
	case req.Subject == "":
		sgError(w, 400, "The subject is required.")
		return
	case len(req.Content) == 0 || req.Content[0].Type != "text/plain":
		sgError(w, 400, "The content value must be a string at least one character in length.")
		return
	}
	for _, p := range req.Personalizations {
		for _, to := range p.To {
			if !strings.Contains(to.Email, "@") {
				sgError(w, 400, "Does not contain a valid address.")
				return
			}
		}
	}
	m := Mail{To: req.Personalizations[0].To[0].Email, From: req.From.Email, Subject: req.Subject, Text: req.Content[0].Value}
	s.mu.Lock()
	s.mails = append(s.mails, m)
	s.mu.Unlock()
	s.accepted()
	if s.OnMail != nil {
		s.OnMail(m)
	}
	w.Header().Set("X-Message-Id", base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprint(s.seq.Add(1)))))
	w.WriteHeader(http.StatusAccepted) // SendGrid answers 202 with an empty body
}

func sgError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": msg, "field": nil, "help": nil}}})
}

// Mails returns what was accepted so far.
func (s *SendGrid) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

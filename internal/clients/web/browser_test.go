package web_test

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/clients/api"
	"digitalpost/internal/clients/web"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/testenv"
)

//go:embed testdata/axe/axe.min.js
var axeSource string

// ScreenshotDir is where the browser tests leave a picture of every page for a reviewer.
const ScreenshotDir = "screenshots"

const (
	annaCPR = "010180-1234"
	boCPR   = "020275-2345"
	carlCPR = "030368-3456"
)

// browserSite is the whole system with the pages on the API's server, and a browser.
type browserSite struct {
	t    *testing.T
	sys  *testenv.System
	base string
	ctx  context.Context
}

func startBrowserSite(t *testing.T) *browserSite {
	t.Helper()
	chrome := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chrome = p
			break
		}
	}
	if chrome == "" {
		t.Fatal("the browser tests need Chromium: run scripts/install-tools, which installs Debian's chromium package (apt-get install -y chromium)")
	}
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

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1280, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	// The pages forbid inline and foreign scripts; the accessibility checker is injected.
	if _, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("start Chromium (%s): %v", chrome, err)
	}
	if err := os.MkdirAll(ScreenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browserSite{t: t, sys: sys, base: hs.URL, ctx: ctx}
}

func (b *browserSite) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval runs a script in the page and returns its value.
func eval[T any](b *browserSite, what, script string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](script, opts...))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b *browserSite) open(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS("h1")))
}

func (b *browserSite) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

func (b *browserSite) wantText(sel, words string) {
	b.t.Helper()
	if got := b.text(sel); !strings.Contains(got, words) {
		b.t.Fatalf("%s says %q, want %q", sel, got, words)
	}
}

// submit clicks a button and waits for the page that answers.
func (b *browserSite) submit(button string) {
	b.t.Helper()
	eval[string](b, "note the page", `document.documentElement.dataset.seen = "1"`)
	b.run("click "+button, chromedp.Click(chromedp.CSS(button)))
	// The old page goes away under the check, which then fails; ask again until the new one
	// has loaded.
	deadline := time.Now().Add(20 * time.Second)
	for {
		done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.dataset.seen !== "1" && document.readyState === "complete"`))
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no answer to %s: %v", button, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browserSite) signInAsCitizen(name string) {
	b.t.Helper()
	b.signOut()
	b.open("/log-ind")
	b.submit(fmt.Sprintf(`button[aria-label="Log ind som %s"]`, name))
	b.wantText("h1", "Din digitale postkasse")
}

func (b *browserSite) signOut() {
	b.t.Helper()
	b.open("/log-ind")
	if eval[int](b, "look for sign-out", `document.querySelectorAll(".signout button").length`) > 0 {
		b.submit(".signout button")
	}
}

type axeResult struct {
	Passes     int `json:"passes"`
	Violations []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	} `json:"violations"`
}

// check runs axe-core on the page, fails on serious or critical violations, and leaves a
// screenshot named after the page.
func (b *browserSite) check(name string) {
	b.t.Helper()
	eval[bool](b, "load axe-core", axeSource+";true")
	res := eval[axeResult](b, "axe on "+name,
		`axe.run(document, {resultTypes: ["violations"]}).then(r => ({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => ({target: n.target}))}))}))`,
		chromedp.EvalAwaitPromise)
	if res.Passes == 0 {
		b.t.Fatalf("page %s: axe-core checked nothing", name)
	}
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("page %s: %s accessibility violation %s (%s) at %v", name, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(ScreenshotDir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browserSite) send(to, subject, text string, docs ...letters.Document) uuid.UUID {
	b.t.Helper()
	return b.deliver(postoffice.Submission{SenderID: "region-midt", RecipientCPR: to, Subject: subject, Body: text, Documents: docs})
}

// deliver submits a letter and waits until it is in the mailbox.
func (b *browserSite) deliver(sub postoffice.Submission) uuid.UUID {
	b.t.Helper()
	r, err := b.sys.PostOffice.Submit(context.Background(), sub)
	if err != nil {
		b.t.Fatal(err)
	}
	testenv.Eventually(b.t, 20*time.Second, "letter delivered", func() bool {
		st, err := b.sys.PostOffice.Status(context.Background(), r.LetterID)
		return err == nil && (st.Status == letters.Delivered || st.Status == letters.Notified)
	})
	return r.LetterID
}

func (b *browserSite) status(id uuid.UUID) letters.Status {
	st, err := b.sys.PostOffice.Status(context.Background(), id)
	if err != nil {
		b.t.Fatal(err)
	}
	return st.Status
}

func seedRegistry(t *testing.T, sys *testenv.System) {
	ctx := context.Background()
	for _, s := range []registry.Sender{
		{ID: "region-midt", Organisation: "Region Midtjylland", ProducingUnit: "Aarhus Universitetshospital", ReturnAddress: "Skottenborg 26\n8800 Viborg"},
		{ID: "aarhus-kommune", Organisation: "Aarhus Kommune", ProducingUnit: "Borgerservice", ReturnAddress: "Rådhuspladsen 2\n8000 Aarhus C"},
	} {
		if err := sys.Registry.AddSender(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []registry.NewCitizen{
		{CPR: annaCPR, Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C", Email: "anna@example.dk", Mobile: "+4520000001"},
		{CPR: boCPR, Name: "Bo Nielsen", Address: "Nørregade 2\n8000 Aarhus C"},
		{CPR: carlCPR, Name: "Carl Hansen", Address: "Søndergade 3\n8000 Aarhus C"},
	} {
		if _, err := sys.Registry.AddCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
}

// The pages as their users work them, in headless Chromium: every page is checked with
// axe-core and photographed.
func TestPagesInABrowser(t *testing.T) {
	b := startBrowserSite(t)
	seedRegistry(t, b.sys)
	ctx := context.Background()
	b.open("/log-ind")
	b.check("sign-in")

	pdf, _, err := print.Render(print.Sheet{Organisation: "Region Midtjylland", RecipientName: "Anna Jensen", Subject: "Bilag", Body: "Bilag til indkaldelsen."}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := b.send(annaCPR, "Indkaldelse til scanning", "Du er indkaldt til scanning den 12. januar.",
		letters.Document{Filename: "bilag.pdf", ContentType: "application/pdf", Content: pdf})

	step(t, "a citizen reads a letter and it is opened", func() {
		b.signInAsCitizen("Anna Jensen")
		b.wantText("tr.unread", "Indkaldelse til scanning")
		b.check("mailbox")
		b.submit(`a[href="/breve/` + first.String() + `"]`)
		b.wantText("h1", "Indkaldelse til scanning")
		b.wantText("article.letter", "Du er indkaldt til scanning")
		b.wantText("#dokumenter + ul", "bilag.pdf")
		if ct := eval[string](b, "fetch the document", `fetch(document.querySelector("#dokumenter + ul a").href).then(r => r.status + " " + r.headers.get("content-type"))`,
			chromedp.EvalAwaitPromise); ct != "200 application/pdf" {
			t.Fatalf("the document answered %q", ct)
		}
		b.check("letter")
		testenv.Eventually(t, 20*time.Second, "letter opened", func() bool { return b.status(first) == letters.Opened })
	})

	step(t, "another citizen's letter is refused", func() {
		b.signInAsCitizen("Carl Hansen")
		b.open("/breve/" + first.String())
		b.wantText("h1", "Findes ikke")
		b.open("/breve/" + first.String() + "/dokumenter/1")
		b.wantText("h1", "Findes ikke")
		anna, _ := b.sys.Registry.CitizenByCPR(ctx, mustCPR(t, annaCPR))
		b.open("/postkasse/" + anna.ID.String())
		b.wantText("h1", "Findes ikke")
	})

	step(t, "a delegate asks, the citizen accepts, the delegate reads", func() {
		second := b.send(annaCPR, "Svar på henvendelse", "Her er svaret på din henvendelse.")
		b.signInAsCitizen("Bo Nielsen")
		b.run("ask for access", chromedp.SetValue(chromedp.CSS("#cpr"), annaCPR))
		b.submit(`form[action="/adgang/anmod"] button`)
		b.wantText(".notice", "har vi sendt din anmodning")

		b.signInAsCitizen("Anna Jensen")
		b.wantText("#anmodninger + ul", "Bo Nielsen")
		b.submit(`button[aria-label="Giv Bo Nielsen læseadgang"]`)
		b.wantText(".notice", "Adgangen er givet")

		b.signInAsCitizen("Bo Nielsen")
		b.submit(`#delte + ul a`)
		b.submit(`a[href="/breve/` + second.String() + `"]`)
		b.wantText(".meta", "Anna Jensens postkasse")
		entry, err := b.sys.Mailbox.Entry(ctx, second)
		bo, _ := b.sys.Registry.CitizenByCPR(ctx, mustCPR(t, boCPR))
		if err != nil || entry.OpenedBy == nil || *entry.OpenedBy != bo.ID {
			t.Fatalf("second letter opened by %v (%v), want the delegate", entry.OpenedBy, err)
		}
		testenv.Eventually(t, 20*time.Second, "letter opened", func() bool { return b.status(second) == letters.Opened })
	})

	step(t, "a citizen answers a letter with a PDF, the sender answers, and a delegate reads the thread", func() {
		post := b.sys.PostOffice.Post
		for _, cp := range []citizenpost.ContactPoint{
			{SenderID: "aarhus-kommune", ID: "borgerservice", Name: "Borgerservice, Aarhus", ForCitizens: true},
			{SenderID: "aarhus-kommune", ID: "byggesag", Name: "Byggesagsafdelingen"},
		} {
			if err := post.AddContactPoint(ctx, cp); err != nil {
				t.Fatal(err)
			}
		}
		yes := true
		asked := b.deliver(postoffice.Submission{SenderID: "aarhus-kommune", RecipientCPR: annaCPR, Subject: "Partshøring om byggesag",
			Body: "Vi har modtaget en ansøgning om byggetilladelse på naboens grund.", RepliesAllowed: &yes, ReplyContactPoint: "byggesag"})
		b.signInAsCitizen("Anna Jensen")
		b.open("/breve/" + asked.String())
		b.wantText("#besvar + p", "Byggesagsafdelingen")
		b.check("letter-with-reply-form")
		// Sent without text or file: refused beside the field, nothing stored.
		b.submit(`form[action$="/svar"] button`)
		b.wantText("#tekst-fejl", "Skriv en tekst")
		letterPDF := filepath.Join(t.TempDir(), "tegning.pdf")
		if err := os.WriteFile(letterPDF, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		b.run("write the reply", chromedp.SetValue(chromedp.CSS("#tekst"), "Jeg har ingen indsigelser, se vedlagte tegning."),
			chromedp.SetUploadFiles(chromedp.CSS("#filer"), []string{letterPDF}))
		// A double click: the same form posted twice at once is one reply.
		codes := eval[[]int](b, "post the form twice", `(async () => {
			const f = document.querySelector('form[action$="/svar"]');
			const rs = await Promise.all([fetch(f.action, {method: "POST", body: new FormData(f), redirect: "manual"}),
				fetch(f.action, {method: "POST", body: new FormData(f), redirect: "manual"})]);
			return rs.map(r => r.type === "opaqueredirect" ? 303 : r.status);
		})()`, chromedp.EvalAwaitPromise)
		if len(codes) != 2 || codes[0] != 303 || codes[1] != 303 {
			t.Fatalf("the two posts answered %v, want two redirects to the receipt", codes)
		}
		page, err := post.Page(ctx, citizenpost.Filter{SenderID: "aarhus-kommune", Limit: 10})
		if err != nil || len(page.Messages) != 1 || len(page.Messages[0].Attachments) != 1 || page.Messages[0].Attachments[0].Filename != "tegning.pdf" {
			t.Fatalf("after a double post the sender has %+v (%v), want one reply with the PDF", page.Messages, err)
		}
		reply := page.Messages[0]
		b.open("/sendt/" + reply.ID.String())
		b.wantText("#kvittering", "Modtaget af Aarhus Kommune")
		b.wantText("#filer + ul", "tegning.pdf")
		b.check("sent")
		b.open("/postkasse")
		b.wantText("#sendt ~ table", "Svar: Partshøring om byggesag")

		// The sender answers the reply; the citizen sees the thread from the letter and the reply.
		answer := b.deliver(postoffice.Submission{SenderID: "aarhus-kommune", RecipientCPR: annaCPR, Subject: "Tak for dit svar",
			Body: "Vi har noteret, at du ingen indsigelser har.", InReplyTo: &reply.ID})
		b.open("/breve/" + asked.String())
		b.wantText("#svar + ol", "Tak for dit svar")
		b.open("/breve/" + answer.String())
		b.wantText("#svar-paa", "Svar: Partshøring om byggesag")
		b.wantText("#kan-ikke-svare", "modtager ikke svar")
		b.open("/sendt/" + reply.ID.String())
		b.wantText("#besvarelser + ul", "Tak for dit svar")

		// Bo reads Anna's mailbox with reading access: the thread, but no form.
		b.signInAsCitizen("Bo Nielsen")
		b.open("/breve/" + asked.String())
		b.wantText("#svar + ol", "Svar: Partshøring om byggesag")
		b.wantText("#kan-ikke-svare", "kun ejeren af postkassen kan svare")
		if n := eval[int](b, "count reply forms", `document.querySelectorAll('form[action$="/svar"]').length`); n != 0 {
			t.Fatalf("a delegate is offered %d reply forms", n)
		}
		b.open("/sendt/" + reply.ID.String())
		b.wantText("#kvittering", "Anna Jensen")
	})

	step(t, "a citizen writes first to a contact point open to citizens", func() {
		b.signInAsCitizen("Anna Jensen")
		b.submit("#skriv")
		b.wantText("h1", "Skriv til en myndighed")
		b.check("write")
		b.run("write", chromedp.SetValue(chromedp.CSS("#til"), "aarhus-kommune/borgerservice"),
			chromedp.SetValue(chromedp.CSS("#emne"), "Flytning"), chromedp.SetValue(chromedp.CSS("#tekst"), "Jeg flytter den 1. marts."))
		b.submit(`form[action="/skriv"] button`)
		b.wantText(".notice", "Din besked er sendt til Borgerservice, Aarhus")
		b.wantText("#kvittering", "Borgerservice, Aarhus")
		msgs, err := b.sys.PostOffice.Post.Page(ctx, citizenpost.Filter{SenderID: "aarhus-kommune", Kind: citizenpost.KindMessage, Limit: 10})
		if err != nil || len(msgs.Messages) != 1 || msgs.Messages[0].Subject != "Flytning" {
			t.Fatalf("the sender received %+v (%v)", msgs.Messages, err)
		}
	})

	step(t, "contact details keep the registry's rules", func() {
		b.signInAsCitizen("Anna Jensen")
		b.open("/profil")
		b.run("type a bad e-mail", chromedp.SetValue(chromedp.CSS("#email"), "anna@localhost"))
		b.submit(`form[action="/profil"] button`)
		b.wantText("#email-fejl", "dot")
		// NemSMS: the terms must be accepted; then the citizen is signed up on their number.
		b.submit(`form[action="/profil/nemsms"] button`)
		b.wantText("#accept-fejl", "acceptere")
		b.run("accept the terms", chromedp.Click(chromedp.CSS("#accept")))
		b.submit(`form[action="/profil/nemsms"] button`)
		b.wantText("#nemsms-status", "+4520000001")
		b.check("profile")
		a, _ := b.sys.Registry.CitizenByCPR(ctx, mustCPR(t, annaCPR))
		if sub, err := b.sys.NemSMS.SubscriptionOf(ctx, a.ID); err != nil || !sub.Active() || sub.TermsVersion != b.sys.NemSMS.Terms {
			t.Fatalf("NemSMS subscription %+v %v", sub, err)
		}
		if a, _ := b.sys.Registry.CitizenByCPR(ctx, mustCPR(t, annaCPR)); a.Email != "anna@example.dk" {
			t.Fatalf("a refused form changed the e-mail to %q", a.Email)
		}
	})

	step(t, "a representative applies with a power of attorney, which is verified before the decision", func() {
		b.signOut()
		b.open("/log-ind")
		b.run("name the caseworker", chromedp.SetValue(chromedp.CSS("#caseworker"), "Karen Borgerservice"))
		b.submit(`form:has(#caseworker) button`)
		poa := filepath.Join(t.TempDir(), "fuldmagt.pdf")
		if err := os.WriteFile(poa, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		b.run("fill in the application", chromedp.SetValue(chromedp.CSS("#cpr"), carlCPR), chromedp.Click(chromedp.CSS("#g1")),
			chromedp.SetValue(chromedp.CSS("#rep"), "Bo Nielsen"), chromedp.SetValue(chromedp.CSS("#repcpr"), boCPR),
			chromedp.SetUploadFiles(chromedp.CSS("#poa"), []string{poa}))
		b.submit(`form[action="/sagsbehandler/ansoegninger"] button`)
		b.wantText("#status", "fuldmagt skal vurderes")
		// Deciding before the power of attorney is verified: the validator refuses, the page says why.
		b.submit(`form[action$="/afgoerelse"] button`)
		b.wantText(".error", "power of attorney must be verified")
		b.submit(`form[action$="/fuldmagt"] button`)
		b.wantText(".notice", "Fuldmagten er vurderet")
		b.wantText("#status", "afventer afgørelse")
		if got := eval[string](b, "fetch the power of attorney", `fetch(document.getElementById("poa-link").href).then(r => r.status + " " + r.headers.get("content-type"))`,
			chromedp.EvalAwaitPromise); got != "200 application/pdf" {
			t.Fatalf("the uploaded power of attorney answered %q", got)
		}
		carl, _ := b.sys.Registry.CitizenByCPR(ctx, mustCPR(t, carlCPR))
		c, _, err := b.sys.Cases.OpenFor(ctx, carl.ID)
		if err != nil {
			t.Fatal(err)
		}
		if name, content, err := b.sys.Cases.PowerOfAttorney(ctx, c.ID); err != nil || name != "fuldmagt.pdf" || string(content) != string(pdf) {
			t.Fatalf("the uploaded power of attorney was not stored with the case: %q, %d bytes, %v", name, len(content), err)
		}
	})

	step(t, "a caseworker decides a case and the next letter goes to paper", func() {
		b.open("/sagsbehandler")
		b.wantText("h1", "Sager om fritagelse")
		b.run("fill in the application", chromedp.SetValue(chromedp.CSS("#cpr"), annaCPR), chromedp.Click(chromedp.CSS("#g0")))
		b.submit(`form[action="/sagsbehandler/ansoegninger"] button`)
		b.wantText("h1", "Sag om fritagelse")
		b.check("case")

		// A rejection without a reason: the workflow's validator refuses, and the page says why.
		b.run("reject without a reason", chromedp.Click(chromedp.CSS("#approve-nej")))
		b.submit(`form[action$="/afgoerelse"] button`)
		b.wantText(".error", "a reason is required to reject an application")

		b.run("approve", chromedp.Click(chromedp.CSS("#approve-ja")))
		b.submit(`form[action$="/afgoerelse"] button`)
		b.wantText(".notice", "Afgørelsen er truffet")
		b.wantText("#status", "fritaget")
		b.open("/sagsbehandler")
		b.check("queue")

		r, err := b.sys.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR, Subject: "Næste brev", Body: "Tekst"})
		if err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 20*time.Second, "next letter printed", func() bool { return b.status(r.LetterID) == letters.Printed })
		b.signInAsCitizen("Anna Jensen")
		b.wantText(".notice", "ophæve fritagelsen")
		// She cancels her exemption herself (issue 26, item 3): enrolled again, no citizen service.
		b.open("/profil")
		b.wantText("#fritagelse + p", "fritaget for Digital Post")
		b.check("profile-exempt")
		b.submit("#tilmeld")
		b.wantText(".notice", "Din fritagelse er ophævet")
		if a, err := b.sys.Registry.CitizenByCPR(ctx, mustCPR(t, annaCPR)); err != nil || a.Enrolment == registry.Exempt {
			t.Fatalf("after cancelling her exemption Anna is %s (%v)", a.Enrolment, err)
		}
	})

	step(t, "a sender signs in with an API key and sees the dashboard", func() {
		_, key, err := b.sys.APIKeys.Create(ctx, "region-midt")
		if err != nil {
			t.Fatal(err)
		}
		b.signOut()
		b.open("/log-ind")
		b.run("type the key", chromedp.SetValue(chromedp.CSS("#key"), key))
		b.submit(`form[action="/log-ind/afsender"] button`)
		b.wantText("h1", "Region Midtjylland")
		b.wantText("#open-rate", "af 2 leverede")
		b.wantText("#citizen-post", "0 svar og 0 beskeder")
		b.check("dashboard")
	})

	step(t, "statistics", func() {
		b.open("/statistik")
		b.wantText("#citizens-total", "3")
		// This month's row counts Anna's reply and her message written first.
		if got := eval[string](b, "citizens' post this month", `[...document.querySelector("#breve ~ table tbody tr:last-child").cells].slice(-2).map(c => c.textContent).join(" ")`); got != "1 1" {
			t.Fatalf("replies and messages this month read %q, want \"1 1\"", got)
		}
		b.check("statistics")
	})
}

func mustCPR(t *testing.T, s string) cpr.Number {
	t.Helper()
	n, err := cpr.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// step names a part of a long browser session in the log.
func step(t *testing.T, name string, do func()) {
	t.Helper()
	t.Log(name)
	do()
}

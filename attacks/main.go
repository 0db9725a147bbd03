// Command attacks brings up the whole system on this machine (a PostgreSQL database of its
// own, a Temporal dev server, the providers' fakes, an OpenID Connect provider, the worker
// built from this module serving the API and the pages, the codec server and the operator
// gate) and tries the attacks of issue 23 against it over HTTP and gRPC. For each it prints
// what was tried, what came back, what was expected, whether anything was written, read or
// leaked (from the database, the letters' state, the worker's log, Temporal's histories),
// and whether the defence held. Any BROKEN row fails the command; see SECURITY.md.
//
//	go run ./attacks             # the table as text
//	go run ./attacks -markdown   # the table as Markdown, for SECURITY.md
//	go run ./attacks -only webhook
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// attack is one row of the table: what it tries, what it expects, and the try itself, which
// returns what was tried, what came back, what was written, read or leaked, and whether the
// defence held.
type attack struct {
	group, name, expected string
	try                   func(ctx context.Context, w *world) (tried, got, effect string, held bool)
}

// result is a row as printed.
type result struct {
	attack
	Tried, Got, Effect string
	Held               bool
	Took               time.Duration
}

func attacks() []attack {
	var list []attack
	add := func(group, name, expected string, try func(context.Context, *world) (string, string, string, bool)) {
		list = append(list, attack{group: group, name: name, expected: expected, try: try})
	}
	const sender = "sender"
	add(sender, "another sender's letter", "404, nothing shown", otherSendersLetter)
	add(sender, "another sender's withdrawal", "404, letter not withdrawn", otherSendersWithdraw)
	add(sender, "another sender's appointment", "404, appointment unchanged", otherSendersAppointment)
	add(sender, "another sender's batch", "404", otherSendersBatch)
	add(sender, "another sender's NemSMS", "404", otherSendersNemSMS)
	add(sender, "another sender's events", "only own events and letters", otherSendersEvents)
	add(sender, "bad API keys", "401 each", badKeys)
	add(sender, "another sender's citizen reply (read, file, handled, answer)", "404, 404, 404, not listed, 422", othersCitizenMessages)
	add(sender, "registry look-up of the dead and emigrated", "channel and reason code only, no dates", lookupAnswersNoDates)
	const print = "print house"
	add(print, "receipts without the print house's token", "401 each, nothing recorded", printReceiptTokens)
	add(print, "receipts with job id ../../x", "no effect, no file written", receiptPathTraversal)
	add(print, "receipts out of order (posted, failed after returned)", "out_of_order, letter stays returned", receiptsOutOfOrder)
	add(print, "`delivered` for economy post", "no effect on the letter or its job", deliveredForEconomy)
	add(print, "symlinked receipt file", "not read through; the control file is read", symlinkedReceiptFile)
	const citizen = "citizen"
	add(citizen, "another citizen's letter", "404, opened_at unchanged", citizenOpensOthersLetter)
	add(citizen, "another citizen's document", "404, opened_at unchanged", citizenOpensOthersDocument)
	add(citizen, "another citizen's withdrawn letter", "404 (not 410), opened_at unchanged", citizenOpensOthersWithdrawn)
	add(citizen, "delegate after revocation", "404, opened_at unchanged", delegateAfterRevocation)
	add(citizen, "delegate after the citizen's exemption", "404, opened_at unchanged", delegateAfter("exemption", exemptByDecision))
	add(citizen, "delegate after the citizen's death", "404, opened_at unchanged", delegateAfter("death", recordDeath))
	add(citizen, "answering someone else's reading-access request", "refused, request still waiting", answerOthersRequest)
	add(citizen, "citizen on caseworker and sender pages", "403 each, case undecided", citizenOnOtherRolesPages)
	add(citizen, "tampered session cookie", "signed out (303 to /log-ind)", tamperedSession)
	add(citizen, "replying to another citizen's letter", "404, nothing stored", replyToOthersLetter)
	add(citizen, "a reply posted from another site", "403, nothing stored", crossSiteReply)
	add(citizen, "a reply with an HTML page named .pdf", "422, nothing stored", replyWithDisguisedFile)
	add(citizen, "another citizen's sent reply and its file", "404 each, nothing shown", othersSentMessage)
	add(citizen, "/dev/log-ind without -dev", "404, no session", devSignInWithoutDev)
	const signIn = "sign-in (OIDC)"
	add(signIn, "callback without the flow cookie", "401, no session", oidcRefused("callback without the flow cookie", honest, withoutCookie))
	add(signIn, "callback with another state", "401, no session", oidcRefused("callback with a forged state", honest, wrongState))
	add(signIn, "replayed code", "401, no session", oidcRefused("the same code and flow cookie a second time", honest, replayedCode))
	add(signIn, "ID token with a wrong nonce", "401, no session", oidcRefused("ID token whose nonce is not the flow's", lying("nonce", "another-nonce"), withCookie))
	add(signIn, "ID token for another audience", "401, no session", oidcRefused("ID token with aud another-client", lying("aud", "another-client"), withCookie))
	add(signIn, "ID token from another issuer", "401, no session", oidcRefused("ID token with iss https://evil.example", lying("iss", "https://evil.example"), withCookie))
	add(signIn, "expired ID token", "401, no session", oidcRefused("ID token expired an hour ago", lying("exp", time.Now().Add(-time.Hour).Unix()), withCookie))
	add(signIn, "ID token without a CPR number", "401, no session", oidcRefused("ID token with no CPR claim", noCPR, withCookie))
	add(signIn, "too low assurance (acr)", "401, no session", oidcRefused("ID token with acr NSIS Low", lowAssurance, withCookie))
	const pages = "pages"
	add(pages, "open redirects after sign-in", "every one lands on / (the mailbox)", openRedirects)
	add(pages, "cross-site POSTs to every form", "403 each, nothing changed", crossSitePosts)
	add(pages, "script in subject, name and file name", "escaped (or refused)", scriptsAreEscaped)
	add(pages, "?besked= phishing text", "not rendered", phishingNotice)
	const docs = "documents"
	add(docs, "bidi, CR/LF and 10 kB file names", "422 each, nothing written", badFileNames)
	add(docs, "HTML, SVG and PDF-HTML polyglots", "refused, or a sandboxed attachment", polyglots)
	add(docs, "active PDFs in a printable letter", "422 each, nothing written", activePDFsRefused(false))
	add(docs, "active PDFs in a digital-only letter", "422 each, nothing written", activePDFsRefused(true))
	add(docs, "PDF nested 200 deep", "422, nothing written", deeplyNestedPDF)
	add(docs, "PDF with an owner password", "422, nothing written, worker memory bounded", encryptedPDF)
	add(docs, "PDF stream bomb (1 GiB inflated)", "422, nothing written, worker memory bounded", bombPDF)
	add(docs, "PDF declaring 10 M objects", "422 each, nothing written, worker memory bounded", manyObjectsPDF)
	const limits = "limits"
	add(limits, "bodies one byte over each limit", "413 each, nothing written, no temp file", bodiesOverLimits)
	add(limits, "NUL and invalid UTF-8", "422 each, nothing written", nulAndInvalidUTF8)
	add(limits, "burst + 1", "429 with Retry-After; other sender 200", burstPlusOne)
	add(limits, "a million-row CSV batch", "422 (or 413), nothing written, memory bounded", millionRowBatch)
	add(limits, "a 64 MB NDJSON line", "422 (or 413), nothing written, memory bounded", hugeNDJSONLine)
	add(limits, "look-ups burst + 1", "429 with Retry-After; each answered look-up audited, no CPR number in the table", lookupsBurstPlusOne)
	add(limits, "50 parallel statistics requests", "a letter still reaches the mailbox within 15 s", statisticsLeaveLettersFlowing)
	const temporal = "Temporal"
	add(temporal, "forged `opened` signal", "letter stays unopened", forgedOpening)
	add(temporal, "forged `respond` Update", "refused, request still waiting", forgedRespond)
	add(temporal, "forged `decide` Update", "refused, case undecided", forgedDecide)
	add(temporal, "raw histories", "no CPR number, name, e-mail, mobile or address", historiesHoldNoPersonalData)
	add(temporal, "codec decodes", "error for each; the intact payload decodes", codecDecodes)
	const operator = "operator"
	add(operator, "operator gate without a live session", "401 each, UI not reached", operatorGateSessions)
	add(operator, "operator token in the path", "401", tokenInPath)
	add(operator, "/readyz", "names no host, database or user", readyzNamesNoHost)
	const hooks = "webhooks"
	for _, t := range []struct{ name, path string }{{"loopback", "loopback"}, {"[::ffff:127.0.0.1]", "mapped"}, {"[::1]", "ipv6-loopback"},
		{"10/8", "private"}, {"169.254.169.254", "169.254.169.254"}, {"100.100.100.200", "100.100.100.200"}, {"NAT64 64:ff9b::7f00:1", "nat64"}} {
		add(hooks, "webhook to "+t.name, "refused as internal, receiver never called", webhookTo(t.path))
	}
	add(hooks, "webhook to a DNS name resolving to 127.0.0.1", "refused when dialled, receiver never called", webhookByName)
	add(hooks, "webhook receiver answering 302", "redirect not followed", webhookRedirect)
	add(hooks, "signatures by an independent Standard Webhooks library; retry", "every call verifies; the retry has the same webhook-id", signaturesVerifyIndependently)
	const logs = "logs"
	add(logs, "CPR number in malformed JSON", "absent from the log", malformedBodiesLogNothing)
	add(logs, "the whole run's log", "no CPR number, name, e-mail or mobile", wholeRunLogsNothing)
	add(logs, "exported spans and /metrics", "no CPR number, name, e-mail, mobile or address; no /metrics on the public port", spansAndMetricsHoldNothing)
	return list
}

// webhookTo finds the target by a part of it (the world makes the URLs).
func webhookTo(part string) func(context.Context, *world) (string, string, string, bool) {
	return func(ctx context.Context, w *world) (string, string, string, bool) {
		for _, t := range w.webhookTargets() {
			if strings.Contains(t, part) {
				return webhookInward(t)(ctx, w)
			}
		}
		return "webhook " + part, "no such target", "", false
	}
}

func main() {
	markdown := flag.Bool("markdown", false, "print the table as Markdown (for SECURITY.md)")
	only := flag.String("only", "", "run only the attacks whose group or name contains this text")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	results, err := run(ctx, *only, func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) })
	if *markdown {
		reportMarkdown(os.Stdout, results, time.Since(start))
	} else {
		report(os.Stdout, results)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "attacks:", err)
		os.Exit(1)
	}
	for _, r := range results {
		if !r.Held {
			os.Exit(1)
		}
	}
}

// run brings the system up, tries every attack in turn and takes the system down.
func run(ctx context.Context, only string, log func(string, ...any)) ([]result, error) {
	// The readiness handler tried with its database down logs through the default logger.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	log("bringing up the system (PostgreSQL database, Temporal dev server, worker, identity provider)…")
	e, err := startEnv(ctx, log)
	if e != nil {
		defer e.close()
	}
	if err != nil {
		return nil, err
	}
	w, err := prepare(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("prepare the victims: %w", err)
	}
	var out []result
	for _, a := range attacks() {
		if only != "" && !strings.Contains(strings.ToLower(a.group+" "+a.name), strings.ToLower(only)) {
			continue
		}
		start := time.Now()
		tried, got, effect, held := a.try(ctx, w)
		r := result{attack: a, Tried: tried, Got: got, Effect: effect, Held: held, Took: time.Since(start)}
		log("%-7s %s: %s — %s", verdict(r), a.group, a.name, got)
		out = append(out, r)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

func verdict(r result) string {
	if r.Held {
		return "held"
	}
	return "BROKEN"
}

func report(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tGROUP\tCASE\tTRIED\tGOT\tEXPECTED\tWRITTEN/READ/LEAKED\tVERDICT")
	for i, r := range results {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, r.group, r.name, short(r.Tried, 90), short(r.Got, 110), r.expected, short(r.Effect, 80), verdict(r))
	}
	_ = tw.Flush()
	held := 0
	for _, r := range results {
		if r.Held {
			held++
		}
	}
	fmt.Fprintf(w, "\n%d attacks: %d held, %d BROKEN\n", len(results), held, len(results)-held)
}

func reportMarkdown(w io.Writer, results []result, took time.Duration) {
	host, _ := os.Hostname()
	held := 0
	for _, r := range results {
		if r.Held {
			held++
		}
	}
	fmt.Fprintf(w, "`go run ./attacks -markdown` on %s (%s/%s, %d CPUs), %s, %s: %d attacks, %d held, %d BROKEN.\n\n",
		host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"), took.Round(time.Second), len(results), held, len(results)-held)
	fmt.Fprintln(w, "| # | group | case | tried | got | expected | written, read or leaked | verdict |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	cell := func(s string) string {
		s = strings.Join(strings.Fields(s), " ")
		return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
	}
	for i, r := range results {
		v := "held"
		if !r.Held {
			v = "**BROKEN**"
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", i+1, cell(r.group), cell(r.name), cell(r.Tried), cell(r.Got), cell(r.expected), cell(r.Effect), v)
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/adapters/providerfake"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/bulkfile"
	"digitalpost/internal/infra/engine"
)

// scenario is one row of the table: a bulk run of letters with a fault injected while it runs.
type scenario struct {
	name    string
	letters int
	// oneCitizen sends every letter to the same citizen (the 3,000-letter row); the
	// fakes then count totals against the provider ids PostgreSQL recorded.
	oneCitizen bool
	// paper sends physical-only letters: each must end printed, with one print job, and no
	// notice at all.
	paper bool
	// others: single letters of two other senders, one every half second while the bulk run
	// goes on. Each must be notified within otherSenderLatency: one sender's bulk run must not
	// hold back another sender's letters (fairness between senders).
	others int
	fault  func(ctx context.Context, e *env) error
	// submit, when set, submits the run in place of the post office's bulk path (the API row).
	submit func(ctx context.Context, e *env, subs []postoffice.Submission) ([]uuid.UUID, error)
	// callsCut is how many times the fault can cut notices between the provider's call and
	// its record (a worker killed, PostgreSQL gone): each such notice is listed unknown, by
	// design, and at most every call one worker has in flight can be. Any other unknown notice
	// fails the row.
	callsCut int
	// after runs once the row is counted (a worker started again, a version's drainage).
	after func(ctx context.Context, e *env, r *result)
}

// otherSenders share the service with the bulk run's sender in the fairness row.
var otherSenders = []string{"aarhus-kommune", "skat"}

// otherSenderLatency is the most another sender's single letter may take from submission to
// both notices sent while a bulk run fills the providers' queues; idle, it takes well under a
// second here, and before fairness between senders it took 38-54 s behind a 3,000-letter run.
const otherSenderLatency = 5 * time.Second

// result is what a scenario left behind, counted from PostgreSQL and the fakes.
type result struct {
	Name          string
	Letters       int
	Lost          int // not notified when the run settled, and no notice of theirs listed unknown
	Missing       int // a notice expected, never accepted by the provider and not listed unknown (paper: no print job)
	Unknown       int // notices listed for operators (a worker died during the provider call)
	MaxUnknown    int // the most the fault can explain: scenario.callsCut times one worker's calls in flight
	Twice         int // a notice the provider accepted more than once
	PrintedTwice  int // a letter with more than one print job in the spool for one purpose
	MaxPerSecond  int // most notices one provider accepted in any one second
	Rate          float64
	Duration      time.Duration
	OthersP99     time.Duration // the fairness row: other senders' single letters, submit → both notices sent
	Note          string        // a failure: the row failed
	Info          string        // what the fault saw: shards moved, letters left unstarted, a version drained
	Refusal       bool          // a refusal row: a bulk file that must be refused whole
	Refused       bool          // for the refusal rows: the run was refused
	WrittenAnyway int           // for the refusal rows: letters stored although the run was refused
}

func (r result) failed() bool {
	if r.Refusal {
		return !r.Refused || r.WrittenAnyway > 0 || r.Note != ""
	}
	return r.Lost+r.Missing+r.Twice+r.PrintedTwice+r.WrittenAnyway > 0 || r.Unknown > r.MaxUnknown ||
		r.MaxPerSecond > jitterAllowance(r.Rate) || r.Note != ""
}

// inFlight is the most notices one worker can have between call and record: both providers'
// calls in flight (engine.ConcurrentCalls each).
func inFlight(rate float64) int { return 2 * engine.ConcurrentCalls(rate) }

// jitterAllowance is the most notices one second may show at the provider for a given rate:
// the rate itself. Calls leave their pace slots (1 s + notify.ArrivalJitter)/rate apart, across
// all workers, so the delay between a slot and the call's arrival (a PostgreSQL round trip,
// goroutine scheduling, the HTTP request) never puts more than rate calls into one second.
// Exact 1/rate spacing showed up to 52 at 50/s on this loaded 2-core machine; the old
// per-worker token bucket let through twice the rate, per worker.
func jitterAllowance(rate float64) int { return int(rate) }

// The faults. Durations scale with s.Scale so the short suite in the tests runs the same
// faults, shorter.
func scenarios(s settings) []scenario {
	if s.Cluster && s.Kills {
		return clusterScenarios(s)
	}
	d := func(full time.Duration) time.Duration { return time.Duration(float64(full) * s.Scale) }
	n := s.Letters
	all := []scenario{
		{name: "no faults, one citizen, e-mail and mobile", letters: n + n/2, oneCitizen: true},
		{name: "no faults", letters: n},
		{name: "two other senders' single letters during the bulk run", letters: 2 * n, others: min(max(10, n/4), 120)},
		{name: "worker SIGKILL while the run is submitted, back after 10 s", letters: n, callsCut: 1, fault: func(ctx context.Context, e *env) error {
			sleep(ctx, d(8*time.Second))
			e.killWorker()
			sleep(ctx, d(10*time.Second))
			return e.restartWorkers()
		}},
		{name: "worker SIGKILL in the notice phase", letters: n, callsCut: 1, fault: func(ctx context.Context, e *env) error {
			waitForNotices(ctx, e, 5)
			e.killWorker()
			sleep(ctx, 3*time.Second)
			return e.restartWorkers()
		}},
		{name: "worker SIGKILL while printing, back after 5 s", letters: n / 2, paper: true, fault: func(ctx context.Context, e *env) error {
			waitForSpool(ctx, e, 5)
			e.killWorker()
			sleep(ctx, 5*time.Second)
			return e.restartWorkers()
		}},
		{name: "providers answer 429 with Retry-After for 40 s", letters: n, fault: func(ctx context.Context, e *env) error {
			return outage(ctx, e, providerfake.Outage{Status: 429, RetryAfter: fmt.Sprint(int(d(10 * time.Second).Seconds()))}, d(40*time.Second))
		}},
		{name: "providers hang past PROVIDER_TIMEOUT", letters: n, fault: func(ctx context.Context, e *env) error {
			return outage(ctx, e, providerfake.Outage{Hang: 2 * s.ProviderTimeout}, d(30*time.Second))
		}},
		{name: "providers answer 503 for 20 s", letters: n, fault: func(ctx context.Context, e *env) error {
			return outage(ctx, e, providerfake.Outage{Status: 503}, d(20*time.Second))
		}},
		{name: "PostgreSQL table stalled 25 s (mailbox_entries locked)", letters: n, callsCut: 1, fault: func(ctx context.Context, e *env) error {
			sleep(ctx, time.Second)
			tx, err := e.db.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(context.WithoutCancel(ctx))
			if _, err := tx.Exec(ctx, "LOCK TABLE mailbox_entries IN ACCESS EXCLUSIVE MODE"); err != nil {
				return err
			}
			sleep(ctx, d(25*time.Second))
			return nil
		}},
		{name: "every worker connection to PostgreSQL terminated, three times", letters: n, callsCut: 3, fault: func(ctx context.Context, e *env) error {
			for range 3 {
				sleep(ctx, d(3*time.Second))
				if _, err := e.db.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
					WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
					return err
				}
			}
			return nil
		}},
		{name: restartPostgresName, letters: n, callsCut: 1, fault: func(ctx context.Context, e *env) error {
			sleep(ctx, 2*time.Second)
			return restartPostgres(ctx, e)
		}},
		{name: "Temporal restarted (20 s down)", letters: n, fault: func(ctx context.Context, e *env) error {
			sleep(ctx, 2*time.Second)
			return e.restartTemporal(ctx, d(20*time.Second))
		}},
	}
	if s.Cluster {
		all = append(all, clusterScenarios(s)...)
	}
	return all
}

const restartPostgresName = "PostgreSQL restarted"

// restartPostgres restarts the machine's own PostgreSQL server, the one the suite's database
// lives on (each machine here has its own; on a shared server this fault must not run).
func restartPostgres(ctx context.Context, e *env) error {
	if !strings.Contains(e.serverURL, "127.0.0.1") && !strings.Contains(e.serverURL, "localhost") {
		return fmt.Errorf("PostgreSQL at %s is not this machine's: cannot restart it", e.serverURL)
	}
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) == 0 {
		return fmt.Errorf("restart PostgreSQL: no cluster under /etc/postgresql (pg_ctlcluster is Debian's): %v", err)
	}
	cmd := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", "restart", "-m", "fast")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("restart PostgreSQL: %v: %s", err, out)
	}
	return nil
}

func outage(ctx context.Context, e *env, o providerfake.Outage, d time.Duration) error {
	sleep(ctx, time.Second)
	e.twilio.SetOutage(o)
	e.sendgrid.SetOutage(o)
	sleep(ctx, d)
	e.twilio.ClearOutage()
	e.sendgrid.ClearOutage()
	return nil
}

// waitForNotices waits until the providers accepted n more notices, so a kill lands in the
// notice phase.
func waitForNotices(ctx context.Context, e *env, n int) {
	start := len(e.twilio.Messages()) + len(e.sendgrid.Mails())
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && ctx.Err() == nil; {
		if len(e.twilio.Messages())+len(e.sendgrid.Mails())-start >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitForSpool waits until n more print jobs are in the spool, so a kill lands while printing.
func waitForSpool(ctx context.Context, e *env, n int) {
	start := len(e.spooled())
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && ctx.Err() == nil; {
		if len(e.spooled())-start >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spooled reads the print jobs' manifests in the spool, as the print house would.
func (e *env) spooled() []print.Job {
	files, _ := filepath.Glob(filepath.Join(e.dir, "spool", "*.json"))
	var jobs []print.Job
	for _, f := range files {
		b, err := os.ReadFile(f)
		var j print.Job
		if err == nil && json.Unmarshal(b, &j) == nil {
			jobs = append(jobs, j)
		}
	}
	return jobs
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// run submits the scenario's letters as one bulk run while its fault happens, runs the file
// again if the submission was cut off (as a sender would), waits for the letters to settle,
// and counts.
func (e *env) run(ctx context.Context, sc scenario, s settings) result {
	e.info, e.lastIDs = nil, nil
	r := e.runRow(ctx, sc, s)
	if e.cluster != nil && !sc.paper && len(e.lastIDs) > 0 {
		if late, timedOut, err := e.stalls(ctx, e.lastIDs); err == nil && late > 0 {
			e.note("%d notices came over a minute after 95 %% of the row's; %d of their letters had a provider call retried after its 2-minute StartToClose timeout",
				late, timedOut)
		}
	}
	if sc.after != nil {
		sc.after(ctx, e, &r)
	}
	// A process of ours that exited without being stopped is a failure of the row; it is
	// started again for the next one.
	for _, p := range append(slices.Clone(e.workers), e.api) {
		if p.crashed() {
			r.Note = joinNotes(r.Note, fmt.Sprintf("%s exited by itself (see %s)", p.name, p.log))
			if !e.noRestart {
				if err := p.start(e.workerBin); err != nil {
					r.Note = joinNotes(r.Note, err.Error())
				}
			}
		}
	}
	if e.cluster != nil {
		if dead := e.cluster.exited(); len(dead) > 0 {
			r.Note = joinNotes(r.Note, fmt.Sprintf("Temporal's %s exited by itself (see %s)", strings.Join(dead, ", "), e.cluster.dir))
		}
	}
	r.Info = strings.Join(e.info, "; ")
	return r
}

func (e *env) runRow(ctx context.Context, sc scenario, s settings) result {
	r := result{Name: sc.name, Letters: sc.letters, Rate: s.Rate, MaxUnknown: sc.callsCut * inFlight(s.Rate)}
	start := time.Now()
	smsBefore, mailBefore := len(e.twilio.Messages()), len(e.sendgrid.Mails())
	e.rowNotices = smsBefore + mailBefore
	run := newRunID()
	var subs []postoffice.Submission
	mobiles, emails := map[string]int{}, map[string]int{}
	var cpr, mobile, email string
	for i := range sc.letters {
		if i == 0 || !sc.oneCitizen {
			var err error
			if cpr, mobile, email, err = e.citizen(ctx); err != nil {
				r.Note = "registering citizens: " + err.Error()
				return r
			}
		}
		mobiles[mobile], emails[email] = i, i
		subs = append(subs, postoffice.Submission{SenderID: "region-midt", MessageID: fmt.Sprintf("%s-%d", run, i),
			RecipientCPR: cpr, Subject: "Indkaldelse", Body: "Du er indkaldt.", PhysicalOnly: sc.paper})
	}

	others := make(chan otherLetters, 1)
	go func() { others <- e.sendOthers(ctx, sc.others, run, len(subs), mobiles, emails) }()

	faultDone := make(chan error, 1)
	if sc.fault != nil {
		go func() { faultDone <- sc.fault(ctx, e) }()
	} else {
		faultDone <- nil
	}
	var ids []uuid.UUID
	for attempt := 1; sc.submit == nil; attempt++ {
		receipts, err := e.engine.PostOffice.SubmitBulk(ctx, subs, postoffice.BulkOptions{Concurrency: 20})
		if err == nil {
			for _, rc := range receipts {
				ids = append(ids, rc.LetterID)
			}
			break
		}
		if attempt == 20 || ctx.Err() != nil {
			r.Note = "submission kept failing: " + err.Error()
			<-faultDone // the fault and the other senders' letters end before the next row starts
			<-others
			return r
		}
		e.log("  submission cut off (%v); running the file again", err)
		sleep(ctx, 3*time.Second)
	}
	if sc.submit != nil {
		var err error
		if ids, err = sc.submit(ctx, e, subs); err != nil {
			r.Note = "submission: " + err.Error()
			<-faultDone
			<-others
			return r
		}
	}
	e.lastIDs = ids
	if err := <-faultDone; err != nil {
		r.Note = "injecting the fault: " + err.Error()
	}
	o := <-others
	if o.err != nil {
		r.Note = "other senders' letters: " + o.err.Error()
	}
	ids = append(ids, o.ids...)
	r.Letters += len(o.ids)

	if sc.paper {
		settled := e.settlePaper(ctx, ids, s.Settle)
		r.Duration = time.Since(start)
		e.countPaper(ctx, &r, ids, smsBefore, mailBefore)
		if !settled && r.Lost == 0 {
			r.Note = "did not settle in time"
		}
		return r
	}
	settled := e.settle(ctx, ids, s.Settle)
	r.Duration = time.Since(start)
	e.count(ctx, &r, ids, sc, smsBefore, mailBefore, mobiles, emails)
	if !settled && r.Lost == 0 {
		r.Note = "did not settle in time"
	}
	r.MaxPerSecond = max(maxInOneSecond(e.twilio.Arrivals(), start), maxInOneSecond(e.sendgrid.Arrivals(), start))
	if len(o.ids) > 0 {
		p99, err := e.othersP99(ctx, o.ids)
		switch {
		case err != nil:
			r.Note = "other senders' latency: " + err.Error()
		case p99 > otherSenderLatency:
			r.Note = fmt.Sprintf("other senders' letters took up to %s (p99) to be notified, more than %s", p99.Round(time.Millisecond), otherSenderLatency)
		}
		r.OthersP99 = p99
	}
	return r
}

// otherLetters are the single letters other senders submitted during a run.
type otherLetters struct {
	ids []uuid.UUID
	err error
}

// sendOthers submits n single letters, alternating between otherSenders, one every half second,
// each to a citizen of its own: from this process, apart from the worker, as an API process or
// the CLI submits (no eager start). Their citizens are indexed after the run's first letters.
func (e *env) sendOthers(ctx context.Context, n int, run string, first int, mobiles, emails map[string]int) otherLetters {
	var o otherLetters
	for k := range n {
		cpr, mobile, email, err := e.citizen(ctx)
		if err != nil {
			o.err = err
			return o
		}
		mobiles[mobile], emails[email] = first+k, first+k
		r, err := e.engine.PostOffice.Submit(ctx, postoffice.Submission{SenderID: otherSenders[k%len(otherSenders)],
			MessageID: fmt.Sprintf("%s-single-%d", run, k), RecipientCPR: cpr, Subject: "Indkaldelse", Body: "Du er indkaldt."})
		if err != nil {
			o.err = err
			return o
		}
		o.ids = append(o.ids, r.LetterID)
		sleep(ctx, 500*time.Millisecond)
	}
	return o
}

// othersP99 is the p99 of the letters' time from submission to their last notice sent, as
// PostgreSQL recorded both.
func (e *env) othersP99(ctx context.Context, ids []uuid.UUID) (time.Duration, error) {
	var p99 float64
	err := e.db.QueryRow(ctx, `SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY took) FROM (
			SELECT extract(epoch FROM max(n.updated_at) - l.created_at) AS took
			FROM letters l JOIN notifications n ON n.letter_id = l.id AND n.state = 'sent'
			WHERE l.id = ANY($1) GROUP BY l.id, l.created_at) t`, ids).Scan(&p99)
	return time.Duration(p99 * float64(time.Second)), err
}

// settle waits until every letter is notified or has a notice listed unknown.
func (e *env) settle(ctx context.Context, ids []uuid.UUID, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(500 * time.Millisecond) {
		// Settled: every letter notified (or with a notice listed unknown), and every notice,
		// both channels of every letter, sent or listed unknown.
		var open, settled int
		err := e.db.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM letters l WHERE l.id = ANY($1) AND l.status <> 'notified'
			   AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.letter_id = l.id AND n.state = 'unknown')),
			(SELECT count(*) FROM notifications WHERE letter_id = ANY($1) AND state IN ('sent', 'unknown'))`, ids).Scan(&open, &settled)
		if err == nil && open == 0 && settled == 2*len(ids) {
			return true
		}
	}
	return false
}

// settlePaper waits until every letter is printed.
func (e *env) settlePaper(ctx context.Context, ids []uuid.UUID, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(500 * time.Millisecond) {
		var open int
		err := e.db.QueryRow(ctx, `SELECT count(*) FROM letters WHERE id = ANY($1) AND status <> 'printed'`, ids).Scan(&open)
		if err == nil && open == 0 {
			return true
		}
	}
	return false
}

// countPaper counts physical-only letters: lost when not printed or with no job in the spool,
// twice when the spool holds two jobs for one letter and purpose, and any notice is one too many.
func (e *env) countPaper(ctx context.Context, r *result, ids []uuid.UUID, smsBefore, mailBefore int) {
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM letters WHERE id = ANY($1) AND status <> 'printed'`, ids).Scan(&r.Lost); err != nil {
		r.Note = "counting: " + err.Error() // a failed count is no count: never read it as 0 lost
		return
	}
	jobs := map[string]map[string]bool{} // letter/purpose → job ids
	for _, j := range e.spooled() {
		key := j.LetterID + "/" + j.Purpose
		if jobs[key] == nil {
			jobs[key] = map[string]bool{}
		}
		jobs[key][j.ID] = true
	}
	for _, id := range ids {
		switch n := len(jobs[id.String()+"/"+string(print.PaperRoute)]); {
		case n == 0:
			r.Missing++
		case n > 1:
			r.PrintedTwice += n - 1
		}
	}
	r.Twice += len(e.twilio.Messages()) - smsBefore + len(e.sendgrid.Mails()) - mailBefore
}

func (e *env) count(ctx context.Context, r *result, ids []uuid.UUID, sc scenario, smsBefore, mailBefore int, mobiles, emails map[string]int) {
	// A failed count is no count: it must fail the row, never read as 0 lost.
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM letters l WHERE l.id = ANY($1) AND l.status <> 'notified'
		AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.letter_id = l.id AND n.state = 'unknown')`, ids).Scan(&r.Lost); err != nil {
		r.Note = "counting lost letters: " + err.Error()
		return
	}
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE letter_id = ANY($1) AND state = 'unknown'`, ids).Scan(&r.Unknown); err != nil {
		r.Note = "counting unknown notices: " + err.Error()
		return
	}
	sms, mails := e.twilio.Messages()[smsBefore:], e.sendgrid.Mails()[mailBefore:]
	if sc.oneCitizen {
		// One recipient: every accepted message beyond one per letter and channel is a duplicate.
		accepted := len(sms) + len(mails)
		expected := 2 * len(ids)
		r.Twice = max(0, accepted-expected)
		r.Missing = max(0, expected-accepted-r.Unknown)
		return
	}
	perLetter := map[string]int{}
	for _, m := range sms {
		if i, ok := mobiles[m.To]; ok {
			perLetter[fmt.Sprintf("%d/sms", i)]++
		}
	}
	for _, m := range mails {
		if i, ok := emails[m.To]; ok {
			perLetter[fmt.Sprintf("%d/email", i)]++
		}
	}
	unknown := map[string]bool{}
	rows, err := e.db.Query(ctx, `SELECT letter_id, channel FROM notifications WHERE letter_id = ANY($1) AND state = 'unknown'`, ids)
	if err != nil {
		r.Note = "listing unknown notices: " + err.Error()
		return
	}
	index := map[uuid.UUID]int{}
	for i, id := range ids {
		index[id] = i
	}
	for rows.Next() {
		var id uuid.UUID
		var ch string
		if err := rows.Scan(&id, &ch); err != nil {
			rows.Close()
			r.Note = "listing unknown notices: " + err.Error()
			return
		}
		unknown[fmt.Sprintf("%d/%s", index[id], ch)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		r.Note = "listing unknown notices: " + err.Error()
		return
	}
	for i := range ids {
		for _, ch := range []string{"sms", "email"} {
			key := fmt.Sprintf("%d/%s", i, ch)
			switch n := perLetter[key]; {
			case n == 0 && !unknown[key]:
				r.Missing++
			case n > 1:
				r.Twice += n - 1
			}
		}
	}
}

func maxInOneSecond(arrivals []time.Time, since time.Time) int {
	var times []time.Time
	for _, t := range arrivals {
		if !t.Before(since) {
			times = append(times, t)
		}
	}
	most := 0
	for i, j := 0, 0; j < len(times); j++ {
		for times[j].Sub(times[i]) >= time.Second {
			i++
		}
		most = max(most, j-i+1)
	}
	return most
}

// refusals are the bulk files that must be refused whole: nothing stored, nothing started.
func (e *env) refusals(ctx context.Context, n int) []result {
	cpr, _, _, err := e.citizen(ctx)
	if err != nil {
		return []result{{Name: "refusals", Note: err.Error()}}
	}
	run := newRunID()
	row := func(i int) string { return fmt.Sprintf("%s-%d,%s,Indkaldelse,Du er indkaldt.\n", run, i, cpr) }
	file := func(broken int, brokenRow string) string {
		var b strings.Builder
		b.WriteString("message_id,to,subject,text\n")
		for i := range n {
			if i == broken {
				b.WriteString(brokenRow)
				continue
			}
			b.WriteString(row(i))
		}
		return b.String()
	}
	cases := []struct{ name, csv string }{
		{fmt.Sprintf("bulk refused at row %d (invalid UTF-8)", n/2+1), file(n/2, fmt.Sprintf("%s-x,%s,Indkaldelse,Du er \xff indkaldt.\n", run, cpr))},
		{"bulk with one message_id twice", file(n/2, row(3))},
		{"bulk row with an empty message_id", file(n/2, fmt.Sprintf(",%s,Indkaldelse,Du er indkaldt.\n", cpr))},
	}
	var out []result
	for _, c := range cases {
		r := result{Name: c.name, Letters: n, Rate: e.rate, Refusal: true}
		var before, after int
		if err := e.db.QueryRow(ctx, `SELECT count(*) FROM letters`).Scan(&before); err != nil {
			r.Note = "counting letters: " + err.Error()
			out = append(out, r)
			continue
		}
		subs, err := bulkfile.Read(strings.NewReader(c.csv), postoffice.Submission{SenderID: "region-midt"}, 0)
		if err == nil {
			_, err = e.engine.PostOffice.SubmitBulk(ctx, subs, postoffice.BulkOptions{})
		}
		r.Refused = err != nil
		if cerr := e.db.QueryRow(ctx, `SELECT count(*) FROM letters`).Scan(&after); cerr != nil {
			r.Note = "counting letters: " + cerr.Error()
			out = append(out, r)
			continue
		}
		r.WrittenAnyway = after - before
		if !r.Refused {
			r.Note = "the run was accepted"
		} else if errors.Is(err, context.Canceled) {
			r.Note = "cancelled"
		}
		out = append(out, r)
	}
	return out
}

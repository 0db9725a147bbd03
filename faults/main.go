// Command faults runs the engine through the faults that lost or doubled work before
// (issue 8): a bulk run per fault, with the real worker as a separate process, the real
// twilio-go and sendgrid-go clients against local fakes that count every request, a Temporal
// dev server on a SQLite file and a PostgreSQL database of its own. It prints, per fault,
// letters lost, notices missing, unknown and sent twice, and the most notices a provider saw
// in one second. Every count but "unknown" must be 0; see RELIABILITY.md.
//
// With -cluster the same rows run on a multi-process Temporal cluster of the suite's own
// (scripts/temporal-cluster: 2 frontend, 2 history, 2 matching, 1 worker service, on the local
// PostgreSQL) with two worker processes, one per frontend, and the cluster's own rows follow:
// a history and a matching process SIGKILLed, one of the two workers SIGKILLed, the API
// process SIGKILLed right after accepting a batch, and a rolling upgrade of the workers.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"
)

func main() {
	var s settings
	flag.IntVar(&s.Letters, "letters", 2000, "letters per fault (the one-citizen row sends 1.5 times as many)")
	flag.Float64Var(&s.Rate, "rate", 50, "provider calls per second (SMS_RATE_PER_SECOND, EMAIL_RATE_PER_SECOND)")
	flag.DurationVar(&s.ProviderTimeout, "provider-timeout", 10*time.Second, "PROVIDER_TIMEOUT")
	flag.DurationVar(&s.Settle, "settle", 10*time.Minute, "how long one fault's letters may take to settle")
	flag.Float64Var(&s.Scale, "scale", 1, "fault durations relative to issue 8's table (0.25: a quarter as long)")
	flag.StringVar(&s.Only, "only", "", "run only the faults whose name contains this text")
	flag.StringVar(&s.Except, "except", "", "leave out the fault with exactly this name (e.g. \"PostgreSQL restarted\" on a shared server)")
	flag.BoolVar(&s.Cluster, "cluster", false, "run on a multi-process Temporal cluster of the suite's own (scripts/temporal-cluster) with two "+
		"worker processes, and add the cluster's rows: history, matching, one worker and the API killed, a rolling upgrade")
	flag.BoolVar(&s.Kills, "kills", false, "with -cluster: only the cluster's own rows")
	flag.BoolVar(&s.NoRestart, "no-restart", false, "never start a killed process again: proves the kill rows can fail")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	results, err := runSuite(ctx, s, func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) })
	report(os.Stdout, results)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	for _, r := range results {
		if r.failed() {
			os.Exit(1)
		}
	}
}

// runSuite brings up the system, runs every fault in turn and tears it down.
func runSuite(ctx context.Context, s settings, log func(string, ...any)) ([]result, error) {
	e, err := startEnv(ctx, s, log)
	if e != nil {
		defer e.close()
	}
	if err != nil {
		return nil, err
	}
	var results []result
	for _, sc := range scenarios(s) {
		if !strings.Contains(sc.name, s.Only) || (s.Except != "" && sc.name == s.Except) {
			continue
		}
		log("%s: %d letters…", sc.name, sc.letters)
		r := e.run(ctx, sc, s)
		log("  %s", line(r))
		if e.cluster != nil {
			all, ours := e.takeConnPeak()
			log("  PostgreSQL client connections: at most %d, %d of them the suite's (cluster, workers, API, suite)", all, ours)
		}
		results = append(results, r)
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
	}
	if s.Only != "" || s.Kills {
		return results, nil
	}
	return append(results, e.refusals(ctx, max(s.Letters, 501))...), nil
}

func line(r result) string {
	others := ""
	if r.OthersP99 > 0 {
		others = fmt.Sprintf(", other senders p99 %s", r.OthersP99.Round(time.Millisecond))
	}
	return strings.TrimSpace(fmt.Sprintf("lost %d, missing %d, unknown %d (at most %d), twice %d, printed twice %d, max %d/s, %s%s %s", r.Lost, r.Missing, r.Unknown, r.MaxUnknown, r.Twice,
		r.PrintedTwice, r.MaxPerSecond, r.Duration.Round(time.Second), others, joinNotes(r.Note, r.Info)))
}

// joinNotes puts a row's failure note before what its fault saw.
func joinNotes(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}

func report(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tLETTERS\tLOST\tMISSING\tUNKNOWN (LISTED)\tSENT TWICE\tPRINTED TWICE\tMAX/S (LIMIT)\tTIME\tNOTE")
	for _, r := range results {
		if r.Refusal {
			fmt.Fprintf(tw, "%s\t%d\trefused: %t, letters written anyway: %d\t\t\t\t\t\t\t%s\n", r.Name, r.Letters, r.Refused, r.WrittenAnyway, r.Note)
			continue
		}
		note := joinNotes(r.Note, r.Info)
		if r.OthersP99 > 0 {
			note = strings.TrimSpace(fmt.Sprintf("other senders' single letters: p99 %s to notified %s", r.OthersP99.Round(time.Millisecond), note))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d (%g)\t%s\t%s\n", r.Name, r.Letters, r.Lost, r.Missing, r.Unknown, r.Twice,
			r.PrintedTwice, r.MaxPerSecond, r.Rate, r.Duration.Round(time.Second), note)
	}
	_ = tw.Flush()
}

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"digitalpost/internal/desks/operations"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/store"
)

// The demo's "under 15" child is 10 on whatever day seed runs: on the day the old fixed
// number (060615-4678) turned 15, and across New Year, where Copenhagen is an hour ahead of UTC.
func TestDemoChildIsTenWheneverSeedRuns(t *testing.T) {
	for _, day := range []time.Time{
		time.Now(),
		time.Date(2030, 6, 6, 12, 0, 0, 0, calendar.Copenhagen),
		time.Date(2030, 12, 31, 23, 30, 0, 0, time.UTC), // 1 January 2031 in Copenhagen
		time.Date(2031, 12, 31, 22, 30, 0, 0, time.UTC), // still 31 December in Copenhagen
	} {
		citizens, err := demoCitizens(day)
		if err != nil {
			t.Fatal(err)
		}
		child := demoChild(t, citizens)
		n, err := cpr.Parse(child.c.CPR)
		if err != nil {
			t.Fatalf("on %s the child's number %q does not parse: %v", day, child.c.CPR, err)
		}
		if age := n.AgeOn(calendar.In(day)); age != 10 {
			t.Errorf("on %s (Danish date %s) the demo child is %d, want 10", day, calendar.In(day).Format(time.DateOnly), age)
		}
	}
}

// seed prints the CPR number of every citizen it registers (the README tells users to send
// to the printed numbers), and run again it registers nobody twice.
func TestSeedPrintsTheCPRNumbersItRegisters(t *testing.T) {
	db, _ := store.NewTestDB(t)
	reg := registry.New(db)
	ctx := context.Background()
	citizens, err := demoCitizens(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		var out bytes.Buffer
		if err := seedCitizens(ctx, &operations.Desk{Registry: reg}, &out, citizens); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		for _, d := range citizens {
			n, err := cpr.Parse(d.c.CPR)
			if err != nil {
				t.Fatalf("%s: %v", d.c.Name, err)
			}
			if _, err := reg.CitizenByCPR(ctx, n); err != nil {
				t.Errorf("run %d: %s is not in the registry under the number printed: %v", run, d.c.Name, err)
			}
			if !strings.Contains(out.String(), d.c.CPR+"\t"+d.c.Name+"\t") {
				t.Errorf("run %d: seed did not print %s's CPR number %s:\n%s", run, d.c.Name, d.c.CPR, out.String())
			}
		}
	}
	var registered int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM citizens`).Scan(&registered); err != nil || registered != len(citizens) {
		t.Fatalf("%d citizens after seeding twice (%v), want %d", registered, err, len(citizens))
	}
	child, err := reg.CitizenByCPR(ctx, cpr.Number(strings.ReplaceAll(demoChild(t, citizens).c.CPR, "-", "")))
	if err != nil {
		t.Fatal(err)
	}
	if age := cpr.AgeOn(child.BirthDate, calendar.In(time.Now())); age >= registry.DigitalAge {
		t.Fatalf("the demo child is registered as %d years old, not under %d", age, registry.DigitalAge)
	}
}

func demoChild(t *testing.T, citizens []demoCitizen) demoCitizen {
	t.Helper()
	for _, d := range citizens {
		if d.branch == "paper; under 15" {
			return d
		}
	}
	t.Fatal("no demo citizen for the under-15 branch")
	return demoCitizen{}
}

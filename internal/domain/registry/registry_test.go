package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/store"
	"digitalpost/internal/infra/testenv"
)

func rules(t *testing.T, err error) []string {
	t.Helper()
	var list fielderr.List
	if !errors.As(err, &list) {
		t.Fatalf("want a refusal naming field and rule, got %v", err)
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.Error()
	}
	return out
}

func has(rules []string, field, words string) bool {
	return slices.ContainsFunc(rules, func(r string) bool { return strings.HasPrefix(r, field+": ") && strings.Contains(r, words) })
}

// Registration refuses what PostgreSQL cannot store and contact details no notice can reach,
// naming the field and the rule, and stores nothing.
func TestAddCitizenRefusesBadInputNamingFieldAndRule(t *testing.T) {
	db, _ := store.NewTestDB(t)
	r := registry.New(db)
	ctx := context.Background()
	ok := registry.NewCitizen{CPR: "010180-1234", Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C"}
	for name, c := range map[string]struct {
		change      func(*registry.NewCitizen)
		field, rule string
	}{
		"name with NUL":        {func(c *registry.NewCitizen) { c.Name = "Anna\x00Jensen" }, "name", "NUL"},
		"name not UTF-8":       {func(c *registry.NewCitizen) { c.Name = "S\xf8ren" }, "name", "UTF-8"},
		"address with NUL":     {func(c *registry.NewCitizen) { c.Address = "Vestergade 1\x00" }, "address", "NUL"},
		"address not UTF-8":    {func(c *registry.NewCitizen) { c.Address = "\xc5boulevarden 1" }, "address", "UTF-8"},
		"e-mail display name":  {func(c *registry.NewCitizen) { c.Email = "Anna <anna@example.dk>" }, "email", "without a display name"},
		"e-mail without a dot": {func(c *registry.NewCitizen) { c.Email = "anna@localhost" }, "email", "a domain with a dot"},
		"e-mail too long": {func(c *registry.NewCitizen) {
			c.Email = strings.Repeat("a", 60) + "@" + strings.Repeat("b", 200) + ".dk"
		}, "email", "at most 254 bytes"},
		"e-mail control char": {func(c *registry.NewCitizen) { c.Email = "anna\x1b@example.dk" }, "email", "control characters"},
		"premium-rate number": {func(c *registry.NewCitizen) { c.Mobile = "90 12 34 56" }, "mobile", "cannot receive SMS"},
		"shared-cost number":  {func(c *registry.NewCitizen) { c.Mobile = "+45 70 10 20 30" }, "mobile", "cannot receive SMS"},
		"freephone number":    {func(c *registry.NewCitizen) { c.Mobile = "+4580203040" }, "mobile", "cannot receive SMS"},
		"nine Danish digits":  {func(c *registry.NewCitizen) { c.Mobile = "+45201234567" }, "mobile", "exactly eight digits"},
	} {
		t.Run(name, func(t *testing.T) {
			in := ok
			c.change(&in)
			_, err := r.AddCitizen(ctx, in)
			if got := rules(t, err); !has(got, c.field, c.rule) {
				t.Fatalf("refusal %q does not name %s with %q", got, c.field, c.rule)
			}
		})
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM citizens`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d citizens stored (%v)", n, err)
	}
	ok.Email, ok.Mobile = " anna@example.dk ", "20 00 00 01"
	c, err := r.AddCitizen(ctx, ok)
	if err != nil || c.Email != "anna@example.dk" || c.Mobile != "+4520000001" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestAddSenderRefusesTextPostgreSQLCannotStore(t *testing.T) {
	db, _ := store.NewTestDB(t)
	r := registry.New(db)
	err := r.AddSender(context.Background(), registry.Sender{ID: "region-midt", Organisation: "Region\x00Midtjylland",
		ProducingUnit: "Aarhus \xdeniversitetshospital", ReturnAddress: "Skottenborg 26\x00"})
	got := rules(t, err)
	if len(got) != 3 || !has(got, "organisation", "NUL") || !has(got, "unit", "UTF-8") || !has(got, "return-address", "NUL") {
		t.Fatalf("refusal %q", got)
	}
	if _, err := r.Sender(context.Background(), "region-midt"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("sender stored: %v", err)
	}
}

// A child registered without --never-logged-in used to count as logged in, so its first
// digital letter at 15 came without the paper notice that digital post is waiting.
func TestChildrenAreRegisteredAsNeverLoggedIn(t *testing.T) {
	db, _ := store.NewTestDB(t)
	reg := registry.New(db)
	ctx := context.Background()
	child, err := reg.AddCitizen(ctx, registry.NewCitizen{CPR: testenv.CPRAged(10, 678), Name: "Freja Christensen", Address: "Skolevej 6\n8000 Aarhus C"})
	if err != nil {
		t.Fatal(err)
	}
	adult, err := reg.AddCitizen(ctx, registry.NewCitizen{CPR: "010180-1234", Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C"})
	if err != nil {
		t.Fatal(err)
	}
	if child.HasLoggedIn() || !adult.HasLoggedIn() {
		t.Fatalf("child logged in %t, adult logged in %t", child.HasLoggedIn(), adult.HasLoggedIn())
	}
}

// A deceased citizen's mailbox outlives them for the retention period; the purge takes only
// those who died before the cutoff, with their mailboxes, and never the living.
func TestPurgeTakesOnlyTheLongDeceasedWithTheirMailboxes(t *testing.T) {
	db, _ := store.NewTestDB(t)
	r := registry.New(db)
	ctx := context.Background()
	if err := r.AddSender(ctx, registry.Sender{ID: "skat", Organisation: "Skattestyrelsen"}); err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, n := range []string{"010150-1234", "020255-2345", "030360-3456"} {
		c, err := r.AddCitizen(ctx, registry.NewCitizen{CPR: n, Name: "Borger " + n})
		if err != nil {
			t.Fatal(err)
		}
		letter := uuid.New()
		if _, err := db.Exec(ctx, `INSERT INTO letters (id, sender_id, message_id, recipient_id, subject, deadline_seconds, status)
			VALUES ($1, 'skat', $2, $3, 'Brev', 3600, 'opened')`, letter, letter.String(), c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO mailbox_entries (letter_id, citizen_id) VALUES ($1, $2)`, letter, c.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	longAgo := time.Now().AddDate(-registry.MailboxRetentionYears-1, 0, 0).UTC().Truncate(24 * time.Hour)
	if _, err := r.RecordDeath(ctx, ids[0], longAgo); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RecordDeath(ctx, ids[1], time.Now().AddDate(0, -1, 0).UTC().Truncate(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteCitizen(ctx, ids[2]); !errors.Is(err, registry.ErrHasPost) {
		t.Fatalf("deleting a citizen with post: %v, want ErrHasPost", err)
	}
	n, err := r.PurgeDeceased(ctx, time.Now().AddDate(-registry.MailboxRetentionYears, 0, 0))
	if err != nil || n != 1 {
		t.Fatalf("purged %d (%v), want 1", n, err)
	}
	var citizens, entries int
	_ = db.QueryRow(ctx, `SELECT (SELECT count(*) FROM citizens), (SELECT count(*) FROM mailbox_entries)`).Scan(&citizens, &entries)
	if citizens != 2 || entries != 2 {
		t.Fatalf("after the purge: %d citizens, %d mailbox entries; want 2 and 2", citizens, entries)
	}
	if _, err := r.Citizen(ctx, ids[0]); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("the long deceased citizen is still there: %v", err)
	}
}

package web_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/testenv"
)

// Signing in to the mailbox is logging in to it (issue 26, item 5): a citizen who never logged
// in, signs in and opens nothing gets no paper notice that digital post is waiting with their
// next letter; one who did not sign in still does.
func TestSigningInCountsAsLoggingIn(t *testing.T) {
	sys := testenv.StartSystem(t)
	seedRegistry(t, sys)
	site := startDevSite(t, sys)
	ctx := context.Background()
	for _, c := range []registry.NewCitizen{
		{CPR: "040490-4567", Name: "Dorte Pedersen", Address: "Østergade 4\n8000 Aarhus C", NeverLoggedIn: true},
		{CPR: "050590-5678", Name: "Ejner Madsen", Address: "Vestergade 9\n8000 Aarhus C", NeverLoggedIn: true},
	} {
		if _, err := sys.Registry.AddCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	dorte := site.visitor()
	dorte.devSignIn(url.Values{"role": {"citizen"}, "cpr": {"0404904567"}})
	if c, err := sys.Registry.Citizen(ctx, mustCitizen(t, sys, "040490-4567")); err != nil || c.LastLoginAt == nil {
		t.Fatalf("signing in left last_login_at %v (%v)", c.LastLoginAt, err)
	}

	paperNotice := func(letter uuid.UUID) bool {
		var n int
		if err := sys.DB.QueryRow(ctx, `SELECT count(*) FROM print_jobs WHERE letter_id = $1 AND purpose = 'waiting-notice'`, letter).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	send := func(to string) uuid.UUID {
		r, err := sys.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: to, Subject: "Indkaldelse", Body: "Tekst"})
		if err != nil {
			t.Fatal(err)
		}
		return r.LetterID
	}
	signedIn, never := send("040490-4567"), send("050590-5678")
	testenv.Eventually(t, 30*time.Second, "the paper notice to the citizen who never logged in", func() bool { return paperNotice(never) })
	testenv.Eventually(t, 30*time.Second, "the signed-in citizen's letter delivered", func() bool {
		_, err := sys.Mailbox.Entry(ctx, signedIn)
		return err == nil
	})
	if paperNotice(signedIn) {
		t.Fatal("a citizen who signed in (and opened nothing) got the paper notice that digital post is waiting")
	}
}

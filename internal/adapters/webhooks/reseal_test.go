package webhooks_test

import (
	"context"
	"strings"
	"testing"

	"digitalpost/internal/infra/codec"
)

// Secrets stored before they were sealed stayed in plaintext (review of issue 23, L7): the
// first delivery seals one in place, and deliveries go on signing with the same secret.
func TestASecretStoredInPlaintextIsSealedAtItsFirstDelivery(t *testing.T) {
	d := newDelivery(t, nil) // its webhook was set by a process without keys: plaintext
	ctx := context.Background()
	var before string
	if err := d.db.QueryRow(ctx, `SELECT secret FROM webhooks WHERE sender_id = $1`, sender).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(before, "whsec_") {
		t.Fatalf("the test needs a secret stored in plaintext, found %.10q…", before)
	}
	keys, err := codec.ParseKeys(codec.NewKeySpec("k1"))
	if err != nil {
		t.Fatal(err)
	}
	d.hooks.Secrets = keys
	if _, later := d.round(t); later != nil {
		t.Fatalf("the round was refused: %v", later)
	}
	var after string
	if err := d.db.QueryRow(ctx, `SELECT secret FROM webhooks WHERE sender_id = $1`, sender).Scan(&after); err != nil {
		t.Fatal(err)
	}
	sealed, ok := strings.CutPrefix(after, "sealed:")
	if !ok || strings.Contains(after, strings.TrimPrefix(before, "whsec_")) {
		t.Fatalf("after a delivery the secret is stored as %.20q…", after)
	}
	if plain, err := keys.Open(sealed, []byte("webhook secret "+sender)); err != nil || string(plain) != before {
		t.Fatalf("the sealed secret opens to another secret (%v)", err)
	}
	if calls, _ := d.rcv.seen(); len(calls) != len(d.feed) {
		t.Fatalf("%d of %d events delivered", len(calls), len(d.feed))
	}
}

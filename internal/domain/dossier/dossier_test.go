package dossier_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"digitalpost/internal/domain/dossier"
)

func record() dossier.Record {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	return dossier.Record{Letter: dossier.Letter{ID: "l1", MessageID: "m1", SenderID: "region-midt", Sender: "Region Midtjylland",
		SubmittedAt: at, SubmittedBy: "api-key:abcd1234", Status: "opened", Deadline: "72h", PostalCategory: "economy"},
		LegalDeliveryAt: &at, Steps: []dossier.Step{{At: at, Event: "letter.delivered", Detail: "digital"}}}
}

// A dossier verifies with the published keys, before and after the signing key is rotated,
// and any changed byte fails, JSON or PDF.
func TestADossierVerifiesAndAnyChangedByteFails(t *testing.T) {
	old, err := dossier.ParseKeys(dossier.NewKeySpec("2026-a"))
	if err != nil {
		t.Fatal(err)
	}
	file, err := old.Seal(record(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id, rec, err := dossier.Verify(file, dossier.KeysOf(old.PublicKeys()))
	if err != nil || id != "2026-a" || rec == nil || rec.Letter.ID != "l1" || rec.Format != dossier.Format {
		t.Fatalf("verify: %q, %+v, %v", id, rec, err)
	}
	// Rotated: a new key signs, the old one is still published and still verifies.
	oldSpec := dossier.NewKeySpec("2026-a")
	first, _ := dossier.ParseKeys(oldSpec)
	signedBefore, _ := first.Seal(record(), time.Now())
	rotated, err := dossier.ParseKeys(dossier.NewKeySpec("2027-a") + "," + oldSpec)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.CurrentKey() != "2027-a" || len(rotated.PublicKeys()) != 2 {
		t.Fatalf("rotated keys %+v", rotated.PublicKeys())
	}
	if _, _, err := dossier.Verify(signedBefore, dossier.KeysOf(rotated.PublicKeys())); err != nil {
		t.Fatalf("a dossier signed before the rotation: %v", err)
	}
	if _, _, err := dossier.Verify(file, dossier.KeysOf(rotated.PublicKeys())); err == nil {
		t.Fatal("a dossier signed by a key never published verified")
	}

	start := bytes.Index(file, []byte(`"record":`)) + len(`"record":`)
	end := bytes.Index(file, []byte(`,"signature":`))
	for i := start; i < end; i++ {
		changed := bytes.Clone(file)
		changed[i] ^= 0x01
		if _, _, err := dossier.Verify(changed, dossier.KeysOf(old.PublicKeys())); err == nil {
			t.Fatalf("byte %d of the record changed (%q) and the dossier still verified", i, changed[start:end])
		}
	}

	pdf := old.SealPDF([]byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"))
	if _, _, err := dossier.Verify(pdf, dossier.KeysOf(old.PublicKeys())); err != nil {
		t.Fatalf("PDF: %v", err)
	}
	for i := 0; i < bytes.LastIndex(pdf, []byte("\n%DP-DOSSIER-SIGNATURE")); i++ {
		changed := bytes.Clone(pdf)
		changed[i] ^= 0x01
		if _, _, err := dossier.Verify(changed, dossier.KeysOf(old.PublicKeys())); err == nil {
			t.Fatalf("byte %d of the PDF changed and it still verified", i)
		}
	}
	if _, _, err := dossier.Verify([]byte(`{"record":{"format":"x"},"signature":{"algorithm":"Ed25519","key_id":"2026-a","value":"AAAA"}}`), dossier.KeysOf(old.PublicKeys())); !errors.Is(err, dossier.ErrBadSignature) {
		t.Fatalf("a forged signature: %v", err)
	}
	// Bytes appended after the PDF's signature line (an incremental update a viewer would show).
	if _, _, err := dossier.Verify(append(bytes.Clone(pdf), []byte("2 0 obj\n<</Forged true>>\nendobj\n%%EOF\n")...), dossier.KeysOf(old.PublicKeys())); err == nil {
		t.Fatal("a PDF with bytes after its signature line verified")
	}
	// A second record that a JSON reader would take (the last one, any case) beside the signed one.
	start, end = bytes.Index(file, []byte(`"record":`))+len(`"record":`), bytes.Index(file, []byte(`,"signature":`))
	forged := append([]byte(`{"record":{"format":"forged"},"Record":`), file[start:end]...)
	forged = append(forged, file[end:]...)
	if _, rec, err := dossier.Verify(forged, dossier.KeysOf(old.PublicKeys())); err == nil {
		t.Fatalf("a dossier with a second record verified, vouching for %+v", rec)
	}
}

func TestSigningKeysAreCheckedWhenRead(t *testing.T) {
	for _, spec := range []string{"", "nokey", "a:bm90LWEtc2VlZA==", "a b:" + "AAAA", dossier.NewKeySpec("a") + "," + dossier.NewKeySpec("a")} {
		if _, err := dossier.ParseKeys(spec); err == nil {
			t.Errorf("DOSSIER_SIGNING_KEYS %q was taken", spec)
		}
	}
}

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"digitalpost/internal/clients/sendersapi"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/fielderr"
)

func TestSummaryTellsNewFromAlreadySubmitted(t *testing.T) {
	b := sendersapi.Batch{BatchID: "b1", Letters: 3000, New: 2500, AlreadySubmitted: 500}
	if got := summary(b); got != "3000 letters: 2500 new, 500 already submitted (batch b1)" {
		t.Fatalf("got %q", got)
	}
}

func TestBrokenRunFileIsBadInputNamingTheLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.csv")
	if err := os.WriteFile(path, []byte("message_id,to,subject,text\nhh-1,010180-1234,Indkaldelse,Tekst\nhh-2,010180-1234,Indkaldelse \xe6,Tekst\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := readRun(path, postoffice.Submission{SenderID: "region-midt"})
	if exitCode(err) != 2 || !strings.Contains(describe(err), "line 3: subject: must be UTF-8 text") {
		t.Fatalf("exit %d: %s", exitCode(err), describe(err))
	}
	_, err = readRun(filepath.Join(t.TempDir(), "missing.csv"), postoffice.Submission{})
	if exitCode(err) != 2 || !strings.HasPrefix(describe(err), "error: file: cannot be read") {
		t.Fatalf("exit %d: %s", exitCode(err), describe(err))
	}
}

// A refused bulk run exits 2 and lists every broken rule on a line of its own.
func TestRefusedRunExitsTwoListingRowsAndRules(t *testing.T) {
	var list fielderr.List
	list.Add("letter 7: message_id", "duplicates letter 3; every letter in a run needs its own message id")
	list.Add("letter 9: to", "recipient is not in the registry")
	err := error(list)
	want := "error: refused; fix these and try again:\n" +
		"  letter 7: message_id: duplicates letter 3; every letter in a run needs its own message id\n" +
		"  letter 9: to: recipient is not in the registry"
	if exitCode(err) != 2 || describe(err) != want {
		t.Fatalf("exit %d:\n%s", exitCode(err), describe(err))
	}
	if exitCode(errors.New("connection refused")) != 1 {
		t.Fatal("a failure that is not bad input exits 2")
	}
}

// Bad input on the command line exits 2 before anything connects: a flag that does not
// parse, and a run file that is not UTF-8.
func TestBadCommandLineExitsTwoWithoutASystem(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none") // reaching it would exit 1
	broken := filepath.Join(t.TempDir(), "run.csv")
	if err := os.WriteFile(broken, []byte("message_id,to,subject,text\nhh-1,010180-1234,Indkaldelse,Tekst\x00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"bulk", "--sender", "region-midt", "--file", broken, "--deadline", "3 days"},
		{"bulk", "--sender", "region-midt", "--file", broken},
		{"send", "--deadline", "soon"},
	} {
		root := newRoot()
		root.SetArgs(args)
		root.SetOut(new(strings.Builder))
		if err := root.Execute(); exitCode(err) != 2 {
			t.Errorf("%q: exit %d: %v", args, exitCode(err), err)
		}
	}
}

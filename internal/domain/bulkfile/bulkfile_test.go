package bulkfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/fielderr"
)

var template = postoffice.Submission{SenderID: "region-midt", Deadline: time.Hour, DigitalOnly: true}

func rules(t *testing.T, err error) []string {
	t.Helper()
	var list fielderr.List
	var one *fielderr.Error
	switch {
	case errors.As(err, &list):
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = e.Error()
		}
		return out
	case errors.As(err, &one):
		return []string{one.Error()}
	}
	t.Fatalf("want a refusal naming field and rule, got %v", err)
	return nil
}

func TestReadTurnsRowsIntoSubmissions(t *testing.T) {
	file := utf8BOM + "message_id,to,subject,text\r\n" +
		"hh-1,010180-1234,Indkaldelse,\"Kære Anna,\r\ndu er indkaldt.\"\r\n" +
		"hh-2,020275-2345,\"Svar på \"\"brev\"\"\",Tekst\r\n"
	subs, err := Read(strings.NewReader(file), template, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []postoffice.Submission{
		{SenderID: "region-midt", Deadline: time.Hour, DigitalOnly: true, MessageID: "hh-1", RecipientCPR: "010180-1234",
			Subject: "Indkaldelse", Body: "Kære Anna,\ndu er indkaldt."},
		{SenderID: "region-midt", Deadline: time.Hour, DigitalOnly: true, MessageID: "hh-2", RecipientCPR: "020275-2345",
			Subject: `Svar på "brev"`, Body: "Tekst"},
	}
	if !reflect.DeepEqual(subs, want) {
		t.Fatalf("got %+v\nwant %+v", subs, want)
	}
}

// Each of these was once read as letters: the bad bytes reached PostgreSQL halfway through
// storing the run, and the rows before them stayed stored.
func TestReadRefusesTextThatIsNotUTF8NamingTheLine(t *testing.T) {
	file := "message_id,to,subject,text\n" +
		"hh-1,010180-1234,Indkaldelse,\"to\nlines\"\n" + // lines 2–3
		"hh-2,010180-1234,Indkaldelse \xe6,Tekst\n" + // line 4: Latin-1 æ
		"hh-3,010180-1234,Indkaldelse,Tekst\x00\n" + // line 5
		"hh-\xff,010180-1234,Indkaldelse,Tekst\n" // line 6
	_, err := Read(strings.NewReader(file), template, 0)
	got := rules(t, err)
	want := []string{
		"line 4: subject: must be UTF-8 text (the input has bytes that are not UTF-8; save it as UTF-8)",
		"line 5: text: must not contain NUL bytes",
		"line 6: message_id: must be UTF-8 text (the input has bytes that are not UTF-8; save it as UTF-8)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestReadRefusesFilesThatAreNotARun(t *testing.T) {
	for name, c := range map[string]struct{ file, want string }{
		"empty":            {"", "file: must start with the header row message_id,to,subject,text"},
		"no header":        {"hh-1,010180-1234,Indkaldelse,Tekst\n", "file: must start with the header row message_id,to,subject,text"},
		"header only":      {"message_id,to,subject,text\n", "file: has no letters after the header row"},
		"too few fields":   {"message_id,to,subject,text\nhh-1,010180-1234,Tekst\n", "line 2: has 3 fields; every row needs 4"},
		"too many fields":  {"message_id,to,subject,text\nhh-1,010180-1234,Kære Anna, du er indkaldt,x\n", "line 2: has 5 fields"},
		"bare quote":       {"message_id,to,subject,text\nhh-1,010180-1234,Svar på \"brev\",Tekst\n", `line 2: bare " in non-quoted-field at byte`},
		"unclosed quote":   {"message_id,to,subject,text\nhh-1,010180-1234,\"Svar,Tekst\n", `line 2: extraneous or missing " in quoted-field`},
		"header in Latin1": {"message_id,to,subject,text\xff\n", "file: must start with the header row"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Read(strings.NewReader(c.file), template, 0)
			got := rules(t, err)
			if len(got) != 1 || !strings.HasPrefix(got[0], c.want) {
				t.Fatalf("got %q, want %q…", got, c.want)
			}
		})
	}
}

func TestReadListsAtMostFiftyBrokenFields(t *testing.T) {
	var b strings.Builder
	b.WriteString(Header + "\n")
	for range 70 {
		b.WriteString("hh,010180-1234,Indkaldelse,\x00\n")
	}
	got := rules(t, func() error { _, err := Read(strings.NewReader(b.String()), template, 0); return err }())
	if len(got) != MaxErrors+1 || got[MaxErrors] != "file: 20 more broken fields in later lines are not listed" {
		t.Fatalf("%d rules, last %q", len(got), got[len(got)-1])
	}
}

// FuzzRead feeds the reader arbitrary files. Whatever it gets, it does not panic; it either
// refuses the file with rules that name a line or the file and never repeat its content as
// bytes that are not UTF-8, or returns letters whose every field is UTF-8 text without NUL
// bytes that PostgreSQL can store, and that written back as CSV read the same again.
func FuzzRead(f *testing.F) {
	f.Add([]byte("message_id,to,subject,text\nhh-1,010180-1234,Indkaldelse,Tekst\n"))
	f.Add([]byte(utf8BOM + "message_id,to,subject,text\r\nhh-1,010180-1234,\"a,b\",\"x\r\ny\"\r\n"))
	f.Add([]byte("message_id,to,subject,text\nhh-1,010180-1234,Indkaldelse \xe6,Tekst\x00\n"))
	f.Add([]byte("message_id,to,subject,text\nhh-1,010180-1234,\"Svar\n"))
	f.Add([]byte("message_id,to,subject,text\nhh-1,\"\"x,y,z\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		subs, err := Read(bytes.NewReader(file), template, 0)
		if err != nil {
			fields := fielderr.Fields(err)
			if len(fields) == 0 {
				t.Fatalf("refusal without fields: %v", err)
			}
			for _, field := range fields {
				if field != "file" && !strings.HasPrefix(field, "line ") {
					t.Fatalf("refusal names %q, neither a line nor the file", field)
				}
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("refusal is not UTF-8: %q", err)
			}
			return
		}
		if len(subs) == 0 {
			t.Fatal("no letters and no refusal")
		}
		var again bytes.Buffer
		w := csv.NewWriter(&again)
		_ = w.Write(columns)
		for _, s := range subs {
			for _, v := range []string{s.MessageID, s.RecipientCPR, s.Subject, s.Body} {
				if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
					t.Fatalf("letter field %q is not text PostgreSQL takes", v)
				}
			}
			if s.SenderID != template.SenderID || s.Deadline != template.Deadline || s.DigitalOnly != template.DigitalOnly {
				t.Fatalf("template lost: %+v", s)
			}
			_ = w.Write([]string{s.MessageID, s.RecipientCPR, s.Subject, s.Body})
		}
		w.Flush()
		back, err := Read(&again, template, 0)
		if err != nil || !reflect.DeepEqual(back, subs) {
			t.Fatalf("written back and read again: %v\n got %+v\nwant %+v", err, back, subs)
		}
	})
}

func TestReadNamesTheLineARowStartsOn(t *testing.T) {
	file := "message_id,to,subject,text\nhh-1,010180-1234,Indkaldelse,\"Kære Anna,\ndu er \"indkaldt\".\"\n"
	got := rules(t, func() error { _, err := Read(strings.NewReader(file), template, 0); return err }())
	if len(got) != 1 || !strings.HasPrefix(got[0], `line 2: extraneous or missing " in quoted-field on line 3 at byte`) {
		t.Fatalf("got %q", got)
	}
}

// A run longer than its cap is refused at the first letter too many, naming the cap.
func TestARunOverItsCapIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString(Header + "\n")
	for i := range 11 {
		fmt.Fprintf(&b, "m-%d,010180-1234,Emne,Tekst\n", i)
	}
	if _, err := Read(strings.NewReader(b.String()), postoffice.Submission{}, 10); err == nil || !strings.Contains(err.Error(), "more than 10 letters") {
		t.Fatalf("11 letters with a cap of 10: %v", err)
	}
	if subs, err := Read(strings.NewReader(b.String()), postoffice.Submission{}, 11); err != nil || len(subs) != 11 {
		t.Fatalf("11 letters with a cap of 11: %d, %v", len(subs), err)
	}
}

package postoffice_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/events"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/testenv"
)

// twoWay is a desk whose letters are put in the mailbox by hand (there is no workflow here),
// with Bo reading Anna's mailbox by reading access, and one contact point of each kind.
type twoWay struct {
	desk
	anna, bo registry.Citizen
	pdf      []byte
}

func newTwoWay(t *testing.T) *twoWay {
	t.Helper()
	d := newDesk(t)
	ctx := context.Background()
	w := &twoWay{desk: d}
	var err error
	for n, c := range map[string]*registry.Citizen{annaCPR: &w.anna, boCPR: &w.bo} {
		num, _ := cpr.Parse(n)
		if *c, err = d.Registry.CitizenByCPR(ctx, num); err != nil {
			t.Fatal(err)
		}
	}
	d.Mailbox = mailbox.New(d.db, func(_ context.Context, owner, reader uuid.UUID) (bool, error) {
		return owner == w.anna.ID && reader == w.bo.ID, nil
	})
	if err := d.Registry.AddSender(ctx, registry.Sender{ID: "skat", Organisation: "Skattestyrelsen"}); err != nil {
		t.Fatal(err)
	}
	for _, cp := range []citizenpost.ContactPoint{
		{SenderID: "region-midt", ID: "roentgen", Name: "Aarhus Universitetshospital, Røntgen"},
		{SenderID: "region-midt", ID: "patientkontoret", Name: "Patientkontoret", ForCitizens: true},
		{SenderID: "skat", ID: "skattecenter", Name: "Skattecenter", ForCitizens: true},
	} {
		if err := d.Post.AddContactPoint(ctx, cp); err != nil {
			t.Fatal(err)
		}
	}
	if w.pdf, _, err = print.Render(print.Sheet{Subject: "Henvisning", Body: "Henvisning fra egen læge"}, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

// send submits a letter and puts it in its recipient's mailbox, as the workflow would.
func (w *twoWay) send(t *testing.T, s postoffice.Submission) letters.Letter {
	t.Helper()
	ctx := context.Background()
	r, err := w.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	l, err := w.Letters.Get(ctx, r.LetterID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Mailbox.Deliver(ctx, l.ID, *l.RecipientID); err != nil {
		t.Fatal(err)
	}
	return l
}

func yes() *bool { v := true; return &v }

func (w *twoWay) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := w.db.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A letter's reply options come from the submission, or from the sender's defaults where it
// says nothing; options that make no sense are refused naming the field, and nothing is stored.
func TestReplyOptionsAreDecidedBySubmissionOrSenderDefaults(t *testing.T) {
	w := newTwoWay(t)
	ctx := context.Background()

	plain := w.send(t, letter())
	if plain.Replies.Allowed {
		t.Fatalf("a letter that asks nothing allows replies by default: %+v", plain.Replies)
	}
	if err := w.Registry.SetReplyDefaults(ctx, "region-midt", registry.ReplyDefaults{Allowed: true, ContactPoint: "roentgen", Within: 14 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	s := letter()
	s.MessageID = "default"
	byDefault := w.send(t, s)
	if !byDefault.Replies.Allowed || byDefault.Replies.ContactPoint != "roentgen" || byDefault.Replies.By == nil ||
		byDefault.Replies.By.Sub(time.Now()) < 13*24*time.Hour {
		t.Fatalf("the sender's defaults were not applied: %+v", byDefault.Replies)
	}
	s.MessageID, s.RepliesAllowed = "no", new(bool)
	if none := w.send(t, s); none.Replies.Allowed {
		t.Fatal("a letter that says no replies allows them")
	}
	// The same letter sent again a second later is the same letter, though the default period
	// now ends a second later: the defaults are not the letter's content.
	time.Sleep(1100 * time.Millisecond)
	again := letter()
	again.MessageID = "default"
	if r, err := w.Submit(ctx, again); err != nil || !r.Duplicate {
		t.Fatalf("the same letter again under a reply period default: %+v, %v", r, err)
	}
	// Defaults never refuse: a physical-only letter takes no replies, and a default contact point
	// since removed sends replies to the sender as a whole.
	paper := letter()
	paper.MessageID, paper.PhysicalOnly = "paper", true
	if r, err := w.Submit(ctx, paper); err != nil {
		t.Fatalf("a physical-only letter under replies-by-default: %v", err)
	} else if l, _ := w.Letters.Get(ctx, r.LetterID); l.Replies.Allowed {
		t.Fatal("a physical-only letter takes replies by default")
	}
	if err := w.Post.RemoveContactPoint(ctx, "region-midt", "roentgen"); err != nil {
		t.Fatal(err)
	}
	orphan := letter()
	orphan.MessageID = "orphan"
	if l := w.send(t, orphan); !l.Replies.Allowed || l.Replies.ContactPoint != "" {
		t.Fatalf("a letter under a removed default contact point: %+v", l.Replies)
	}
	if err := w.Post.AddContactPoint(ctx, citizenpost.ContactPoint{SenderID: "region-midt", ID: "roentgen", Name: "Aarhus Universitetshospital, Røntgen"}); err != nil {
		t.Fatal(err)
	}

	before := w.count(t, "letters")
	past := time.Now().Add(-time.Hour)
	for _, c := range []struct {
		name  string
		edit  func(*postoffice.Submission)
		field string
		words string
	}{
		{"reply-by without replies", func(s *postoffice.Submission) { s.RepliesAllowed = new(bool); s.ReplyBy = &past }, "reply-by", "only for a letter that allows replies"},
		{"reply-by in the past", func(s *postoffice.Submission) { s.RepliesAllowed = yes(); s.ReplyBy = &past }, "reply-by", "future"},
		{"unknown contact point", func(s *postoffice.Submission) { s.RepliesAllowed = yes(); s.ReplyContactPoint = "kantinen" }, "reply-contact-point", "not one of your contact points"},
		{"another sender's contact point", func(s *postoffice.Submission) { s.RepliesAllowed = yes(); s.ReplyContactPoint = "skattecenter" }, "reply-contact-point", "not one of your contact points"},
		{"physical only", func(s *postoffice.Submission) { s.RepliesAllowed = yes(); s.PhysicalOnly = true }, "replies-allowed", "physical-only"},
		{"unknown message", func(s *postoffice.Submission) { id := uuid.New(); s.InReplyTo = &id }, "in-reply-to", "not a reply or message sent to you"},
	} {
		sub := letter()
		sub.MessageID = "bad-" + c.name
		c.edit(&sub)
		_, err := w.Submit(ctx, sub)
		if rules := refusal(t, err); !hasRule(rules, c.field, c.words) {
			t.Errorf("%s: refused with %v, want %s: …%s…", c.name, rules, c.field, c.words)
		}
	}
	if after := w.count(t, "letters"); after != before {
		t.Fatalf("refused letters were stored: %d before, %d after", before, after)
	}
}

// The citizen answers a letter that allows it: the reply is stored with its PDF and announced
// once (letter.replied) however often the form is posted; a sender's answer refers to it and
// must go to its writer; every refusal says why and writes nothing.
func TestACitizenRepliesOnceAndTheSenderAnswers(t *testing.T) {
	w := newTwoWay(t)
	ctx := context.Background()
	s := letter()
	s.RepliesAllowed, s.ReplyContactPoint = yes(), "roentgen"
	l := w.send(t, s)

	in := postoffice.CitizenPost{Author: w.anna.ID, LetterID: l.ID, Text: "Jeg kan ikke komme den dag.",
		Files: []letters.Document{{Filename: "henvisning.pdf", Content: w.pdf}}, FormKey: "form-1"}
	first, created, err := w.Reply(ctx, in)
	if err != nil || !created {
		t.Fatalf("reply: %v, created %t", err, created)
	}
	again, created, err := w.Reply(ctx, in) // a second click of the same form
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("the same form again made %v (created %t, %v), want the first reply %v", again.ID, created, err, first.ID)
	}
	if first.Subject != "Svar: Indkaldelse" || first.ContactPointName != "Aarhus Universitetshospital, Røntgen" ||
		len(first.Attachments) != 1 || first.Attachments[0].ContentType != "application/pdf" {
		t.Fatalf("stored reply %+v", first)
	}
	testenv.Eventually(t, 10*time.Second, "the reply announced in the feed", func() bool {
		evs, err := events.NewFeed(w.db).After(ctx, "region-midt", events.Cursor{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		replied := 0
		for _, e := range evs {
			if e.Type() == "letter.replied" {
				replied++
				if e.LetterID != l.ID || e.CitizenMessageID == nil || *e.CitizenMessageID != first.ID || e.StatusChange() {
					t.Fatalf("letter.replied event %+v", e)
				}
			}
		}
		if replied > 1 {
			t.Fatalf("%d letter.replied events for one reply", replied)
		}
		return replied == 1
	})

	// The sender answers the reply with a letter in_reply_to it: to its writer only.
	answer := letter()
	answer.MessageID, answer.InReplyTo, answer.RecipientCPR = "answer-to-bo", &first.ID, boCPR
	if _, err := w.Submit(ctx, answer); !hasRule(refusal(t, err), "in-reply-to", "citizen who wrote") {
		t.Fatalf("an answer to another citizen: %v", err)
	}
	answer.MessageID, answer.RecipientCPR = "answer", annaCPR
	ans := w.send(t, answer)
	if ans.InReplyTo == nil || *ans.InReplyTo != first.ID {
		t.Fatalf("the answer refers to %v", ans.InReplyTo)
	}
	skat := letter()
	skat.SenderID, skat.MessageID, skat.InReplyTo = "skat", "skat-answer", &first.ID
	if _, err := w.Submit(ctx, skat); !hasRule(refusal(t, err), "in-reply-to", "not a reply or message sent to you") {
		t.Fatalf("another sender answered the reply: %v", err)
	}
	// The citizen sees the thread from both ends, and Bo with reading access reads it too.
	for _, reader := range []uuid.UUID{w.anna.ID, w.bo.ID} {
		rd, err := w.Read(ctx, l.ID, reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(rd.Thread.Replies) != 1 || len(rd.Thread.Replies[0].Answers) != 1 || rd.Thread.Replies[0].Answers[0].LetterID != ans.ID {
			t.Fatalf("the thread as %v sees it: %+v", reader, rd.Thread)
		}
		if rd.Thread.CanReply != (reader == w.anna.ID) {
			t.Fatalf("reader %v may reply: %t", reader, rd.Thread.CanReply)
		}
		v, err := w.SentMessage(ctx, first.ID, reader)
		if err != nil || v.Letter == nil || v.Letter.LetterID != l.ID || len(v.Answers) != 1 {
			t.Fatalf("the sent reply as %v sees it: %+v, %v", reader, v, err)
		}
	}

	// Refusals: each names its reason, and nothing more is stored.
	stored := w.count(t, "citizen_messages")
	in.FormKey = "form-2"
	bo := in
	bo.Author = w.bo.ID
	if _, _, err := w.Reply(ctx, bo); !errors.Is(err, postoffice.ErrDelegateCannotReply) {
		t.Errorf("a delegate's reply: %v", err)
	}
	stranger := in
	stranger.Author = uuid.New()
	if _, _, err := w.Reply(ctx, stranger); !errors.Is(err, mailbox.ErrNoAccess) {
		t.Errorf("a stranger's reply: %v", err)
	}
	word := in
	word.Files = []letters.Document{{Filename: "brev.docx", Content: []byte("PK\x03\x04 not a pdf")}}
	if _, _, err := w.Reply(ctx, word); !hasRule(refusal(t, err), "document 1 (brev.docx)", "PDF") {
		t.Errorf("a reply with a Word file: %v", err)
	}
	empty := in
	empty.Text, empty.Files = "  ", nil
	if _, _, err := w.Reply(ctx, empty); !hasRule(refusal(t, err), "content", "text") {
		t.Errorf("an empty reply: %v", err)
	}
	if _, _, err := w.Reply(ctx, postoffice.CitizenPost{Author: w.anna.ID, LetterID: ans.ID, Text: "tak", FormKey: "form-3"}); !isReplyRefused(err, letters.NoReplies) {
		t.Errorf("a reply to a letter that takes none: %v", err)
	}
	soon := time.Now().Add(2 * time.Second)
	s.MessageID, s.ReplyBy = "soon", &soon
	due := w.send(t, s)
	time.Sleep(time.Until(soon) + 1100*time.Millisecond) // reply-by is kept in whole seconds
	if _, _, err := w.Reply(ctx, postoffice.CitizenPost{Author: w.anna.ID, LetterID: due.ID, Text: "for sent", FormKey: "form-4"}); !isReplyRefused(err, letters.PastReplyBy) {
		t.Errorf("a reply after reply-by: %v", err)
	}
	s.MessageID, s.ReplyBy = "withdrawn", nil
	gone := w.send(t, s)
	if err := w.Mailbox.Withdraw(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Reply(ctx, postoffice.CitizenPost{Author: w.anna.ID, LetterID: gone.ID, Text: "hov", FormKey: "form-5"}); !isReplyRefused(err, letters.WithdrawnLetter) {
		t.Errorf("a reply to a withdrawn letter: %v", err)
	}
	if n := w.count(t, "citizen_messages"); n != stored {
		t.Fatalf("refused replies were stored: %d messages, want %d", n, stored)
	}
	// A citizen recorded dead replies no more, whatever session is still open.
	if _, err := w.Registry.RecordDeath(ctx, w.anna.ID, time.Now().AddDate(0, 0, -1).UTC().Truncate(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Reply(ctx, postoffice.CitizenPost{Author: w.anna.ID, LetterID: l.ID, Text: "efter døden", FormKey: "form-6"}); !errors.Is(err, mailbox.ErrNoAccess) {
		t.Fatalf("a reply from a citizen recorded dead: %v", err)
	}
}

// One citizen sends at most MaxPostsPerHour an hour; a broken form key is refused naming it.
func TestACitizenCannotFloodAContactPoint(t *testing.T) {
	w := newTwoWay(t)
	ctx := context.Background()
	in := postoffice.CitizenPost{Author: w.bo.ID, SenderID: "skat", ContactPoint: "skattecenter", Subject: "Spørgsmål", Text: "Hej", FormKey: "k\x00"}
	if _, _, err := w.Write(ctx, in); !hasRule(refusal(t, err), "form-key", "reload") {
		t.Fatalf("a form key with a NUL byte: %v", err)
	}
	for i := range postoffice.MaxPostsPerHour {
		in.FormKey = fmt.Sprintf("k%d", i)
		if _, _, err := w.Write(ctx, in); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	in.FormKey = "one-too-many"
	if _, _, err := w.Write(ctx, in); !errors.Is(err, postoffice.ErrTooManyPosts) {
		t.Fatalf("message %d in an hour: %v", postoffice.MaxPostsPerHour+1, err)
	}
	if n := w.count(t, "citizen_messages"); n != postoffice.MaxPostsPerHour {
		t.Fatalf("%d messages stored, want %d", n, postoffice.MaxPostsPerHour)
	}
}

func isReplyRefused(err error, why letters.ReplyRefusal) bool {
	var refused *postoffice.ReplyRefused
	return errors.As(err, &refused) && refused.Reason == why
}

// A citizen writes first only to a contact point open to citizens; the message is announced as
// message.received to its sender alone.
func TestACitizenWritesFirstToAContactPointOpenToCitizens(t *testing.T) {
	w := newTwoWay(t)
	ctx := context.Background()
	in := postoffice.CitizenPost{Author: w.anna.ID, SenderID: "region-midt", ContactPoint: "roentgen", Subject: "Spørgsmål", Text: "Hvornår?", FormKey: "k1"}
	if _, _, err := w.Write(ctx, in); !hasRule(refusal(t, err), "contact-point", "citizens can write to") {
		t.Fatalf("a message to a contact point closed to citizens: %v", err)
	}
	in.ContactPoint, in.Subject = "patientkontoret", ""
	if _, _, err := w.Write(ctx, in); !hasRule(refusal(t, err), "subject", "empty") {
		t.Fatalf("a message without a subject: %v", err)
	}
	if n := w.count(t, "citizen_messages"); n != 0 {
		t.Fatalf("%d refused messages stored", n)
	}
	in.Subject = "Spørgsmål om min behandling"
	m, created, err := w.Write(ctx, in)
	if err != nil || !created || m.IsReply() || m.ContactPointName != "Patientkontoret" {
		t.Fatalf("message %+v, created %t, %v", m, created, err)
	}
	testenv.Eventually(t, 10*time.Second, "message.received in the sender's feed", func() bool {
		evs, _ := events.NewFeed(w.db).After(ctx, "region-midt", events.Cursor{}, 100)
		for _, e := range evs {
			if e.Type() == "message.received" && e.CitizenMessageID != nil && *e.CitizenMessageID == m.ID && e.LetterID == uuid.Nil {
				return true
			}
		}
		return false
	})
	if evs, _ := events.NewFeed(w.db).After(ctx, "skat", events.Cursor{}, 100); len(evs) != 0 {
		t.Fatalf("another sender's feed shows %d events", len(evs))
	}
	if _, err := w.Message(ctx, "skat", m.ID); !errors.Is(err, citizenpost.ErrNotFound) {
		t.Fatalf("another sender reads the message: %v", err)
	}
	// The sender sees who wrote it, and an answer naming no recipient goes to them.
	got, err := w.Message(ctx, "region-midt", m.ID)
	if err != nil || got.From == nil || got.From.ID != w.anna.ID {
		t.Fatalf("the sender's view of the message: %+v, %v", got, err)
	}
	answer := postoffice.Submission{SenderID: "region-midt", MessageID: "svar-til-anna", Subject: "Svar", Body: "Her er kopien.", InReplyTo: &m.ID}
	ans := w.send(t, answer)
	if ans.RecipientID == nil || *ans.RecipientID != w.anna.ID {
		t.Fatalf("an answer without a recipient went to %v, want Anna", ans.RecipientID)
	}
	answer.MessageID, answer.SenderID = "skat-svar", "skat"
	if _, err := w.Submit(ctx, answer); !hasRule(refusal(t, err), "to", "CPR number") {
		t.Fatalf("another sender's answer without a recipient: %v", err)
	}
	if err := w.MarkHandled(ctx, "skat", m.ID); !errors.Is(err, citizenpost.ErrNotFound) {
		t.Fatalf("another sender marks the message handled: %v", err)
	}
	handled := true
	if err := w.MarkHandled(ctx, "region-midt", m.ID); err != nil {
		t.Fatal(err)
	}
	page, err := w.Messages(ctx, citizenpost.Filter{SenderID: "region-midt", Handled: &handled, Limit: 10})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].HandledAt == nil {
		t.Fatalf("handled messages: %+v, %v", page, err)
	}
	if _, err := w.SentMessage(ctx, m.ID, w.bo.ID); err != nil {
		t.Fatalf("Bo has reading access to Anna's mailbox and cannot read her message: %v", err)
	}
	if _, err := w.SentMessage(ctx, m.ID, uuid.New()); !errors.Is(err, mailbox.ErrNoAccess) {
		t.Fatalf("a stranger reads Anna's message: %v", err)
	}
}

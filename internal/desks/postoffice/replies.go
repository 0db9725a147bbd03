package postoffice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/domain/registry"
)

// decideReplies sets a letter's reply options from the submission, or the sender's defaults
// where it says nothing, and checks the letter it answers, if any. Refusals go into errs; an
// error is a failed look-up.
//
// Defaults never refuse a letter: a physical-only letter takes no replies, and a default
// contact point since removed sends replies to the sender as a whole. What the letter says
// itself is checked.
func (p *PostOffice) decideReplies(ctx context.Context, s Submission, l *letters.Letter, snd registry.Sender, look *lookup, errs *fielderr.List) error {
	explicit := strings.TrimSpace(s.ReplyContactPoint)
	opts := letters.ReplyOptions{Allowed: snd.Replies.Allowed && !l.PhysicalOnly, ContactPoint: snd.Replies.ContactPoint}
	if s.RepliesAllowed != nil {
		opts.Allowed = *s.RepliesAllowed
	}
	if explicit != "" {
		opts.ContactPoint = explicit
	}
	switch {
	case s.ReplyBy != nil && !opts.Allowed:
		errs.Add("reply-by", "only for a letter that allows replies (replies_allowed)")
	case s.ReplyBy != nil && !s.ReplyBy.After(time.Now()):
		errs.Add("reply-by", "must be in the future")
	case s.ReplyBy != nil && l.DeliverAt != nil && !s.ReplyBy.After(*l.DeliverAt):
		errs.Add("reply-by", "must be after the letter's delivery (deliver-at)")
	case s.ReplyBy != nil && s.ReplyBy.Sub(time.Now()) > MaxSchedule:
		errs.Add("reply-by", "must be at most a year ahead")
	case s.ReplyBy != nil:
		by := s.ReplyBy.UTC().Truncate(time.Second)
		opts.By = &by
	case opts.Allowed && snd.Replies.Within > 0:
		from := time.Now()
		if l.DeliverAt != nil {
			from = *l.DeliverAt
		}
		by := from.Add(snd.Replies.Within).UTC().Truncate(time.Second)
		opts.By = &by
	}
	if !opts.Allowed {
		if explicit != "" {
			errs.Add("reply-contact-point", "only for a letter that allows replies (replies_allowed)")
		}
		opts = letters.ReplyOptions{}
	}
	if opts.Allowed && l.PhysicalOnly {
		errs.Add("replies-allowed", "a physical-only letter is not in the mailbox to be answered there")
	}
	if opts.Allowed && opts.ContactPoint != "" {
		known, err := look.contactPoint(ctx, p.Post, snd.ID, opts.ContactPoint)
		switch {
		case err != nil:
			return err
		case !known && explicit != "":
			errs.Add("reply-contact-point", fmt.Sprintf("%q is not one of your contact points (starter sender contact-point list)", opts.ContactPoint))
		case !known:
			opts.ContactPoint = "" // the default was removed: the sender as a whole
		}
	}
	l.Replies = opts

	if s.InReplyTo != nil {
		m, err := p.Post.Get(ctx, *s.InReplyTo)
		switch {
		case errors.Is(err, citizenpost.ErrNotFound) || err == nil && m.SenderID != snd.ID:
			errs.Add("in-reply-to", "is not a reply or message sent to you")
		case err != nil:
			return err
		case m.CitizenID == nil || l.RecipientID == nil || *m.CitizenID != *l.RecipientID:
			errs.Add("in-reply-to", "the answer must go to the citizen who wrote the message (recipient)")
		default:
			l.InReplyTo = s.InReplyTo
		}
	}
	return nil
}

// contactPoint tells whether the sender has this contact point in use, asking once per run.
func (look *lookup) contactPoint(ctx context.Context, post *citizenpost.Store, sender, id string) (bool, error) {
	key := [2]string{sender, id}
	if known, asked := look.contactPoints[key]; asked {
		return known, nil
	}
	_, err := post.ContactPoint(ctx, sender, id)
	if err != nil && !errors.Is(err, citizenpost.ErrNotFound) {
		return false, err
	}
	if look.contactPoints != nil {
		look.contactPoints[key] = err == nil
	}
	return err == nil, nil
}

// replyFingerprint is what a letter says about replies, as its sender wrote it: the sender's
// defaults are not the letter's content, so a letter sent again after they changed (or a
// default period later) is the same letter.
func replyFingerprint(s Submission) string {
	if s.RepliesAllowed == nil && s.ReplyBy == nil && strings.TrimSpace(s.ReplyContactPoint) == "" {
		return ""
	}
	allowed := "default"
	if s.RepliesAllowed != nil {
		allowed = fmt.Sprint(*s.RepliesAllowed)
	}
	by := ""
	if s.ReplyBy != nil {
		by = s.ReplyBy.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	return "replies=" + allowed + " by=" + by + " to=" + strings.TrimSpace(s.ReplyContactPoint)
}

// MaxAttachments bounds the files one reply or message may carry.
const MaxAttachments = 5

// CitizenPost is a reply or a message as a citizen writes it on the pages.
type CitizenPost struct {
	Author   uuid.UUID // the signed-in citizen
	Subject  string    // a reply's is "Svar: " and the letter's subject when left empty
	Text     string
	Files    []letters.Document
	FormKey  string // the form's own key: the same form posted twice is one message
	LetterID uuid.UUID
	// SenderID and ContactPoint: where a message written first goes.
	SenderID     string
	ContactPoint string
}

// ErrDelegateCannotReply: someone with reading access reads the replies, but only the
// citizen answers their own post.
var ErrDelegateCannotReply = errors.New("only the citizen whose mailbox it is can answer a letter; reading access lets you read, not write")

// ReplyRefused is a letter that cannot be answered now, and why.
type ReplyRefused struct{ Reason letters.ReplyRefusal }

func (r *ReplyRefused) Error() string { return string(r.Reason) }

// Reply is a citizen answering a letter in their own mailbox. The reply is stored and
// announced to the sender (letter.replied) at once; the same form posted again answers the
// stored reply. A letter that allows no replies, a withdrawn one and one past its reply-by
// time are *ReplyRefused; a delegate is ErrDelegateCannotReply; a letter the author may not
// read is mailbox.ErrNoAccess, as any letter they may not see.
func (p *PostOffice) Reply(ctx context.Context, in CitizenPost) (citizenpost.Message, bool, error) {
	entry, err := p.Mailbox.Entry(ctx, in.LetterID)
	if errors.Is(err, mailbox.ErrNotInMailbox) {
		return citizenpost.Message{}, false, mailbox.ErrNoAccess
	}
	if err != nil {
		return citizenpost.Message{}, false, err
	}
	if entry.CitizenID != in.Author {
		if ok, err := p.Mailbox.MayRead(ctx, entry.CitizenID, in.Author); err != nil {
			return citizenpost.Message{}, false, err
		} else if ok {
			return citizenpost.Message{}, false, ErrDelegateCannotReply
		}
		return citizenpost.Message{}, false, mailbox.ErrNoAccess
	}
	if err := p.mayPost(ctx, in.Author); err != nil {
		return citizenpost.Message{}, false, err
	}
	l, err := p.Letters.Get(ctx, in.LetterID)
	if err != nil {
		return citizenpost.Message{}, false, err
	}
	reason := l.ReplyRefusal(time.Now())
	if reason == "" && entry.WithdrawnAt != nil {
		reason = letters.WithdrawnLetter
	}
	if reason != "" {
		return citizenpost.Message{}, false, &ReplyRefused{Reason: reason}
	}
	if strings.TrimSpace(in.Subject) == "" {
		in.Subject = replySubject(l.Subject)
	}
	docs, err := checkCitizenPost(in)
	if err != nil {
		return citizenpost.Message{}, false, err
	}
	return p.Post.Post(ctx, citizenpost.Message{SenderID: l.SenderID, CitizenID: &in.Author, LetterID: &l.ID,
		ContactPoint: l.Replies.ContactPoint, Subject: strings.TrimSpace(in.Subject), Body: in.Text}, docs, in.FormKey)
}

// MaxPostsPerHour bounds what one citizen sends in an hour: enough for any correspondence, and
// no way to flood an authority's contact point, its feed and its webhook from one sign-in.
const MaxPostsPerHour = 20

// ErrTooManyPosts: the citizen sent MaxPostsPerHour in the last hour.
var ErrTooManyPosts = fmt.Errorf("at most %d replies and messages an hour; try again later", MaxPostsPerHour)

// mayPost checks the author may send now: alive, and within the hour's bound. A second post of
// the same form is checked too; it is the stored message again, and the bound is far above a
// double click.
func (p *PostOffice) mayPost(ctx context.Context, author uuid.UUID) error {
	c, err := p.Registry.Citizen(ctx, author)
	if errors.Is(err, registry.ErrNotFound) {
		return mailbox.ErrNoAccess
	}
	if err != nil {
		return err
	}
	if c.Deceased() {
		return mailbox.ErrNoAccess
	}
	n, err := p.Post.SentSince(ctx, author, time.Now().Add(-time.Hour))
	if err != nil {
		return err
	}
	if n >= MaxPostsPerHour {
		return ErrTooManyPosts
	}
	return nil
}

// replySubject is "Svar: " and the letter's subject, within the subject's length.
func replySubject(subject string) string {
	s := "Svar: " + subject
	if r := []rune(s); len(r) > MaxSubjectRunes {
		s = string(r[:MaxSubjectRunes])
	}
	return s
}

// Write is a citizen writing first to one of a sender's contact points open to citizens.
// Stored and announced (message.received) at once; the same form posted again answers the
// stored message.
func (p *PostOffice) Write(ctx context.Context, in CitizenPost) (citizenpost.Message, bool, error) {
	var errs fielderr.List
	cp, err := p.Post.ContactPoint(ctx, in.SenderID, in.ContactPoint)
	switch {
	case fielderr.TextRule(in.SenderID) != "" || fielderr.TextRule(in.ContactPoint) != "" || errors.Is(err, citizenpost.ErrNotFound) || err == nil && !cp.ForCitizens:
		errs.Add("contact-point", "is not a contact point citizens can write to")
	case err != nil:
		return citizenpost.Message{}, false, err
	}
	if strings.TrimSpace(in.Subject) == "" {
		errs.Add("subject", "must not be empty")
	}
	docs, err := checkCitizenPost(in)
	if rules, ok := fielderr.Rules(err); ok {
		errs = append(errs, rules...)
	} else if err != nil {
		return citizenpost.Message{}, false, err
	}
	if err := errs.Err(); err != nil {
		return citizenpost.Message{}, false, err
	}
	if err := p.mayPost(ctx, in.Author); err != nil {
		return citizenpost.Message{}, false, err
	}
	return p.Post.Post(ctx, citizenpost.Message{SenderID: cp.SenderID, CitizenID: &in.Author, ContactPoint: cp.ID,
		Subject: strings.TrimSpace(in.Subject), Body: in.Text}, docs, in.FormKey)
}

// checkCitizenPost holds what a citizen writes to a letter's rules: a subject and text a letter
// could carry, text or a file, and files validated as a letter's documents that may be
// printed are (PDF only).
func checkCitizenPost(in CitizenPost) ([]letters.Document, error) {
	var errs fielderr.List
	checkSubject(&errs, strings.TrimSpace(in.Subject))
	checkText(&errs, in.Text)
	if strings.TrimSpace(in.Text) == "" && len(in.Files) == 0 {
		errs.Add("content", "write a text or attach at least one PDF")
	}
	if len(in.Files) > MaxAttachments {
		errs.Add("documents", fmt.Sprintf("at most %d files", MaxAttachments))
	}
	if k := strings.TrimSpace(in.FormKey); k == "" || len(k) > 100 || fielderr.TextRule(k) != "" {
		errs.Add("form-key", "is missing or broken: reload the page and send again")
	}
	docs := checkDocuments(&errs, in.Files, false)
	return docs, errs.Err()
}

// ContactPointsForCitizens is every contact point citizens may write to first.
func (p *PostOffice) ContactPointsForCitizens(ctx context.Context) ([]citizenpost.ContactPoint, error) {
	return p.Post.ForCitizens(ctx)
}

// Thread is a letter's conversation as its readers see it: the letter the citizen's message
// answered, if any, and each of the citizen's replies with the sender's answers to it.
type Thread struct {
	Answers   *citizenpost.Message // the citizen's message this letter answers
	Replies   []ThreadReply
	CanReply  bool                 // the reader is the owner and the letter takes a reply now
	Refusal   letters.ReplyRefusal // why not, when the letter takes no reply (for the owner)
	ReplyTo   string               // where a reply goes: the contact point's or the sender's name
	ReplyBy   *time.Time
	Delegated bool // the reader reads with reading access: replies are shown, not offered
}

// ThreadReply is one of the citizen's replies and the letters that answer it.
type ThreadReply struct {
	citizenpost.Message
	Answers []mailbox.Listing
}

// threadOf is the conversation around a letter in owner's mailbox, as reader sees it.
func (p *PostOffice) threadOf(ctx context.Context, l letters.Letter, entry mailbox.Entry, reader uuid.UUID) (Thread, error) {
	t := Thread{Delegated: entry.CitizenID != reader, ReplyBy: l.Replies.By}
	if l.InReplyTo != nil {
		if m, err := p.Post.Get(ctx, *l.InReplyTo); err == nil {
			t.Answers = &m
		} else if !errors.Is(err, citizenpost.ErrNotFound) {
			return t, err
		}
	}
	replies, err := p.Post.RepliesTo(ctx, l.ID)
	if err != nil {
		return t, err
	}
	for _, r := range replies {
		answers, err := p.Mailbox.Answers(ctx, entry.CitizenID, r.ID)
		if err != nil {
			return t, err
		}
		t.Replies = append(t.Replies, ThreadReply{Message: r, Answers: answers})
	}
	t.Refusal = l.ReplyRefusal(time.Now())
	if t.Refusal == "" && entry.WithdrawnAt != nil {
		t.Refusal = letters.WithdrawnLetter
	}
	t.CanReply = !t.Delegated && t.Refusal == ""
	if l.Replies.Allowed && l.Replies.ContactPoint != "" {
		t.ReplyTo = l.Replies.ContactPoint
		if name, err := p.Post.ContactPointName(ctx, l.SenderID, l.Replies.ContactPoint); err == nil {
			t.ReplyTo = name
		}
	}
	return t, nil
}

// SentView is one of the citizen's replies or messages as a reader of their mailbox sees it:
// the message, the letter it answered, and the sender's answers.
type SentView struct {
	Message citizenpost.Message
	Owner   registry.Citizen
	Letter  *mailbox.Listing // the letter it answered, if a reply
	Answers []mailbox.Listing
}

// SentMessage is a citizen's reply or message, to its writer or someone with reading access
// to their mailbox; mailbox.ErrNoAccess to anyone else, as if it did not exist.
func (p *PostOffice) SentMessage(ctx context.Context, id, reader uuid.UUID) (SentView, error) {
	m, err := p.Post.Get(ctx, id)
	if errors.Is(err, citizenpost.ErrNotFound) || err == nil && m.CitizenID == nil {
		return SentView{}, mailbox.ErrNoAccess
	}
	if err != nil {
		return SentView{}, err
	}
	if ok, err := p.Mailbox.MayRead(ctx, *m.CitizenID, reader); err != nil {
		return SentView{}, err
	} else if !ok {
		return SentView{}, mailbox.ErrNoAccess
	}
	v := SentView{Message: m}
	if v.Owner, err = p.Registry.Citizen(ctx, *m.CitizenID); err != nil {
		return v, err
	}
	if m.LetterID != nil {
		if l, err := p.Mailbox.Listing(ctx, *m.LetterID); err == nil {
			v.Letter = &l
		} else if !errors.Is(err, mailbox.ErrNotInMailbox) {
			return v, err
		}
	}
	v.Answers, err = p.Mailbox.Answers(ctx, *m.CitizenID, m.ID)
	return v, err
}

// SentAttachment is one of a sent message's files (numbered from 1), to whoever may read it.
func (p *PostOffice) SentAttachment(ctx context.Context, id, reader uuid.UUID, n int) (letters.Document, error) {
	if _, err := p.SentMessage(ctx, id, reader); err != nil {
		return letters.Document{}, err
	}
	return p.attachment(ctx, id, n)
}

func (p *PostOffice) attachment(ctx context.Context, id uuid.UUID, n int) (letters.Document, error) {
	docs, err := p.Post.Attachments(ctx, id)
	if err != nil {
		return letters.Document{}, err
	}
	if n < 1 || n > len(docs) {
		return letters.Document{}, ErrNoDocument
	}
	return docs[n-1], nil
}

// SentBy is what a citizen sent, newest first, to someone who may read their mailbox.
func (p *PostOffice) SentBy(ctx context.Context, owner, reader uuid.UUID, limit int) ([]citizenpost.Message, error) {
	if ok, err := p.Mailbox.MayRead(ctx, owner, reader); err != nil {
		return nil, err
	} else if !ok {
		return nil, mailbox.ErrNoAccess
	}
	return p.Post.Sent(ctx, owner, limit)
}

// The senders' side.

// Messages is a page of the citizens' post to a sender.
func (p *PostOffice) Messages(ctx context.Context, f citizenpost.Filter) (citizenpost.Page, error) {
	return p.Post.Page(ctx, f)
}

// ReceivedMessage is a citizen's reply or message as its sender sees it: who wrote it (nil
// once the citizen has left the registry) and the sender's letters that answer it.
type ReceivedMessage struct {
	citizenpost.Message
	From    *registry.Citizen
	Answers []uuid.UUID
}

// Message is one of a sender's messages; another sender's is citizenpost.ErrNotFound.
func (p *PostOffice) Message(ctx context.Context, sender string, id uuid.UUID) (ReceivedMessage, error) {
	m, err := p.Post.Get(ctx, id)
	if err == nil && m.SenderID != sender {
		err = citizenpost.ErrNotFound
	}
	if err != nil {
		return ReceivedMessage{}, err
	}
	r := ReceivedMessage{Message: m}
	if m.CitizenID != nil {
		c, err := p.Registry.Citizen(ctx, *m.CitizenID)
		switch {
		case err == nil:
			r.From = &c
		case !errors.Is(err, registry.ErrNotFound):
			return r, err
		}
	}
	r.Answers, err = p.Letters.AnswersTo(ctx, id)
	return r, err
}

// addressAnswer addresses a letter that answers a citizen's message and names no recipient to
// the message's writer. Anything amiss is left for validation to name.
func (p *PostOffice) addressAnswer(ctx context.Context, s *Submission) error {
	if s.InReplyTo == nil || strings.TrimSpace(s.RecipientCPR) != "" {
		return nil
	}
	m, err := p.Message(ctx, strings.TrimSpace(s.SenderID), *s.InReplyTo)
	if errors.Is(err, citizenpost.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.From != nil {
		s.RecipientCPR = m.From.CPR.Digits()
	}
	return nil
}

// MessageAttachment is one of a sender's message's files, numbered from 1.
func (p *PostOffice) MessageAttachment(ctx context.Context, sender string, id uuid.UUID, n int) (letters.Document, error) {
	if _, err := p.Message(ctx, sender, id); err != nil {
		return letters.Document{}, err
	}
	return p.attachment(ctx, id, n)
}

// MarkHandled records that the sender dealt with one of its messages.
func (p *PostOffice) MarkHandled(ctx context.Context, sender string, id uuid.UUID) error {
	return p.Post.MarkHandled(ctx, sender, id)
}

// RepliesTo is the citizen's replies to one of the sender's letters.
func (p *PostOffice) RepliesTo(ctx context.Context, letter uuid.UUID) ([]citizenpost.Message, error) {
	return p.Post.RepliesTo(ctx, letter)
}

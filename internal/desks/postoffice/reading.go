package postoffice

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/domain/registry"
)

// Reading is a letter as its reader sees it in the mailbox.
type Reading struct {
	Entry        mailbox.Entry
	Letter       letters.Letter
	Organisation string // the sender's name; empty when the sender has left the registry
	Documents    []letters.Document
	Owner        registry.Citizen // whose mailbox: the reader's own, or one the reader may read
	Thread       Thread           // the citizen's replies and the sender's answers around it
}

// Read is a reader opening a letter in a mailbox, known by registry id as a signed-in page
// knows them: the opening is recorded (OpenBy) and the letter answered. A withdrawn letter is
// mailbox.ErrWithdrawn only to someone who may read it; to anyone else it is
// mailbox.ErrNoAccess, as any letter they may not read, so a guessed id tells nothing.
func (p *PostOffice) Read(ctx context.Context, id, reader uuid.UUID) (Reading, error) {
	entry, err := p.OpenBy(ctx, id, reader)
	if errors.Is(err, mailbox.ErrWithdrawn) {
		if ok, mayErr := p.Mailbox.MayRead(ctx, entry.CitizenID, reader); mayErr != nil {
			return Reading{}, mayErr
		} else if !ok {
			return Reading{}, mailbox.ErrNoAccess
		}
	}
	if err != nil {
		return Reading{Entry: entry}, err
	}
	rd := Reading{Entry: entry}
	if rd.Letter, err = p.Letters.Get(ctx, id); err != nil {
		return rd, err
	}
	if snd, err := p.Registry.Sender(ctx, rd.Letter.SenderID); err == nil {
		rd.Organisation = snd.Organisation
	}
	if rd.Documents, err = p.Letters.Documents(ctx, id); err != nil {
		return rd, err
	}
	if rd.Thread, err = p.threadOf(ctx, rd.Letter, entry, reader); err != nil {
		return rd, err
	}
	rd.Owner, err = p.Registry.Citizen(ctx, entry.CitizenID)
	return rd, err
}

// ReadAs is Read for a reader named by CPR number, as the command line's demo names them.
func (p *PostOffice) ReadAs(ctx context.Context, id uuid.UUID, readerCPR string) (Reading, error) {
	reader, err := p.readerByCPR(ctx, readerCPR)
	if err != nil {
		return Reading{}, err
	}
	return p.Read(ctx, id, reader)
}

// ErrNoDocument is a document number a letter does not have.
var ErrNoDocument = errors.New("the letter has no such document")

// ReadDocument is a reader taking one of a letter's documents (numbered from 1): reading a
// document is reading the letter, so the opening is recorded as Read records it.
func (p *PostOffice) ReadDocument(ctx context.Context, id, reader uuid.UUID, n int) (letters.Document, error) {
	if _, err := p.OpenBy(ctx, id, reader); err != nil {
		return letters.Document{}, err
	}
	docs, err := p.Letters.Documents(ctx, id)
	if err != nil {
		return letters.Document{}, err
	}
	if n < 1 || n > len(docs) {
		return letters.Document{}, ErrNoDocument
	}
	return docs[n-1], nil
}

// MailboxView is a mailbox as a reader sees it: whose it is and its newest letters.
type MailboxView struct {
	Owner   registry.Citizen
	Letters []mailbox.Listing
	Sent    []citizenpost.Message // the owner's replies and messages: the sent folder
}

// MailboxOf is the owner's mailbox as the reader may see it: their own, or one they were
// given reading access to (mailbox.ErrNoAccess otherwise); the newest limit letters.
func (p *PostOffice) MailboxOf(ctx context.Context, owner, reader uuid.UUID, limit int) (MailboxView, error) {
	if ok, err := p.Mailbox.MayRead(ctx, owner, reader); err != nil {
		return MailboxView{}, err
	} else if !ok {
		return MailboxView{}, mailbox.ErrNoAccess
	}
	var v MailboxView
	var err error
	if v.Owner, err = p.Registry.Citizen(ctx, owner); err != nil {
		return v, err
	}
	if v.Letters, err = p.Mailbox.List(ctx, owner, limit); err != nil {
		return v, err
	}
	v.Sent, err = p.Post.Sent(ctx, owner, limit)
	return v, err
}

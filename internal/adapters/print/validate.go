package print

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// ValidatePDF reports whether b is a PDF a print house can print: a well-formed PDF, not
// encrypted (a print house has no password, and an owner password forbids the merge that
// puts the address sheet in front), and carrying no scripts or program launches (a print
// house runs no code from a sender, and a letter must look the same on paper and on screen),
// no embedded files and no actions that reach outside the letter (a citizen opens it in the
// browser and trusts what it does). It must also ask little of a reader: see limits.go.
// The error says which rule the file breaks; it never repeats the file's content.
func ValidatePDF(b []byte) (err error) {
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		return errors.New("is not a PDF file")
	}
	// What pdfcpu would allocate for while reading is checked on the file as written.
	switch {
	case tooDeep(b):
		return fmt.Errorf("is not a PDF a letter can carry: it has arrays or dictionaries nested more than %d deep", maxNesting)
	case declaresTooManyObjects(b):
		return fmt.Errorf("is not a PDF a letter can carry: it declares more than %d objects", maxObjects)
	case rawStreamTooLarge(b):
		return fmt.Errorf("is not a PDF a letter can carry: it has a stream that is larger than %d MB decompressed", maxImageDecoded>>20)
	}
	// pdfcpu turns most of its own failures into errors, but not every panic on hostile input:
	// a file that crashes the parser is simply not a PDF we can print.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("is not a valid PDF: %v", r)
		}
	}()
	conf := readConfiguration()
	conf.Cmd = model.VALIDATE
	ctx, err := api.ReadContext(bytes.NewReader(b), conf)
	switch {
	case errors.Is(err, pdfcpu.ErrWrongPassword):
		return errors.New("is encrypted with a password; send it without encryption so that it can be printed")
	case err != nil:
		return fmt.Errorf("is not a valid PDF: %v", err)
	case ctx.Encrypt != nil:
		return errors.New("is encrypted (it has an owner password that restricts printing or changes); send it without encryption so that it can be printed")
	case len(ctx.Table) > maxObjects || ctx.Size != nil && *ctx.Size > maxObjects:
		return fmt.Errorf("is not a PDF a letter can carry: it declares more than %d objects", maxObjects)
	}
	// Before anything decompresses a stream for real (validation reads the metadata, the
	// print worker merges the pages): no stream may ask for more memory than a letter needs.
	if what := streamsTooLarge(ctx); what != "" {
		return fmt.Errorf("is not a PDF a letter can carry: it has %s", what)
	}
	// Look for scripts before validating: validation repairs the file as it goes (it drops an
	// empty form, say), and what it drops would not be looked at.
	// In the order of the file, and a script before anything else: that is the news the
	// sender needs first.
	found := ""
	for _, nr := range slices.Sorted(maps.Keys(ctx.Table)) {
		entry := ctx.Table[nr]
		if entry == nil || entry.Free {
			continue
		}
		obj := entry.Object
		// Objects compressed into an object stream (how PDF 1.5 and later generators write
		// most of them) are read only when asked for: ask, or they would never be looked at.
		if lazy, ok := obj.(types.LazyObjectStreamObject); ok {
			if obj, err = lazy.DecodedObject(context.Background()); err != nil {
				return fmt.Errorf("is not a valid PDF: object %d: %v", nr, err)
			}
		}
		what := activeContent(obj, 0)
		if strings.Contains(what, "JavaScript") {
			found = what
			break
		}
		if found == "" {
			found = what
		}
	}
	if found != "" {
		return fmt.Errorf("carries %s; a letter takes PDFs without scripts, embedded files or actions that run programs or reach outside the letter", found)
	}
	if err := api.ValidateContext(ctx); err != nil {
		return fmt.Errorf("is not a valid PDF: %v", err)
	}
	return nil
}

// activeContent names the first script, program launch, embedded file or action that reaches
// outside the letter in obj, or "". Every object in the
// file is looked at on its own, so JavaScript is found wherever it is hung: the catalog's
// /OpenAction, /AA additional actions on the document, a page, an annotation or a form field,
// the /JavaScript name tree, or an action dictionary nested in any of them. Names are compared
// decoded, since /Java#53cript is /JavaScript.
func activeContent(obj types.Object, depth int) string {
	if depth > 64 { // nesting deeper than this is not a real document
		return "objects nested too deeply to be checked"
	}
	switch o := obj.(type) {
	case types.Dict:
		return activeInDict(o, depth)
	case types.StreamDict:
		return activeInDict(o.Dict, depth)
	case types.ObjectStreamDict:
		return activeInDict(o.Dict, depth)
	case types.XRefStreamDict:
		return activeInDict(o.Dict, depth)
	case types.Array:
		for _, v := range o {
			if what := activeContent(v, depth+1); what != "" {
				return what
			}
		}
	}
	return ""
}

func activeInDict(d types.Dict, depth int) string {
	for k, v := range d {
		switch decodedName(k) {
		case "JS":
			return "JavaScript"
		case "JavaScript":
			return "JavaScript (a document-level /JavaScript name tree)"
		case "XFA":
			return "an XFA form (which runs scripts and which print houses cannot print)"
		case "AA":
			if what := activeContent(v, depth+1); what != "" {
				return what // a script in it is the worse news
			}
			return "additional actions (/AA, run when a page, a field or the document is opened, closed or printed)"
		case "EmbeddedFiles":
			// Some writers (fpdf among them) put an empty tree in every file; a file itself is
			// found by its /EF or its /Type wherever it hangs.
			if t, ok := v.(types.Dict); ok && (len(t.ArrayEntry("Names")) > 0 || t["Kids"] != nil) {
				return "embedded files (an /EmbeddedFiles name tree)"
			}
		case "EF":
			return "an embedded file"
		case "RichMedia", "RichMediaContent", "RichMediaSettings":
			return "rich media (Flash or video that runs in the reader)"
		case "Type":
			if n, ok := v.(types.Name); ok && decodedName(string(n)) == "EmbeddedFile" {
				return "an embedded file"
			}
		case "Subtype":
			if n, ok := v.(types.Name); ok && decodedName(string(n)) == "RichMedia" {
				return "rich media (Flash or video that runs in the reader)"
			}
		case "S":
			if n, ok := v.(types.Name); ok {
				if what := action(decodedName(string(n))); what != "" {
					return what
				}
			}
		}
		if what := activeContent(v, depth+1); what != "" {
			return what
		}
	}
	return ""
}

// action names an action type a letter must not carry, or "" for one it may (go to a page,
// open a web link the citizen clicks).
func action(s string) string {
	switch s {
	case "JavaScript":
		return "a JavaScript action"
	case "Launch":
		return "a Launch action (it starts a program)"
	case "SubmitForm":
		return "a SubmitForm action (it sends what is filled in to an address of the sender's choosing)"
	case "ImportData":
		return "an ImportData action (it reads a file from the citizen's computer)"
	case "GoToR":
		return "a GoToR action (it opens another file)"
	case "GoToE":
		return "a GoToE action (it opens an embedded file)"
	case "RichMediaExecute":
		return "a RichMediaExecute action (it runs rich media)"
	}
	return ""
}

func decodedName(s string) string {
	if d, err := types.DecodeName(s); err == nil {
		return d
	}
	return s
}

package print

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// ValidatePDF reports whether b is a PDF a print house can print: a well-formed PDF, not
// encrypted (a print house has no password, and an owner password forbids the merge that
// puts the address sheet in front), and carrying no scripts or program launches (a print
// house runs no code from a sender, and a letter must look the same on paper and on screen).
// The error says which rule the file breaks; it never repeats the file's content.
func ValidatePDF(b []byte) (err error) {
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		return errors.New("is not a PDF file")
	}
	// pdfcpu turns most of its own failures into errors, but not every panic on hostile input:
	// a file that crashes the parser is simply not a PDF we can print.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("is not a valid PDF: %v", r)
		}
	}()
	conf := model.NewDefaultConfiguration()
	conf.Cmd = model.VALIDATE
	ctx, err := api.ReadContext(bytes.NewReader(b), conf)
	switch {
	case errors.Is(err, pdfcpu.ErrWrongPassword):
		return errors.New("is encrypted with a password; send it without encryption so that it can be printed")
	case err != nil:
		return fmt.Errorf("is not a valid PDF: %v", err)
	case ctx.Encrypt != nil:
		return errors.New("is encrypted (it has an owner password that restricts printing or changes); send it without encryption so that it can be printed")
	}
	// Look for scripts before validating: validation repairs the file as it goes (it drops an
	// empty form, say), and what it drops would not be looked at.
	for _, entry := range ctx.Table {
		if entry == nil || entry.Free {
			continue
		}
		if what := activeContent(entry.Object, 0); what != "" {
			return fmt.Errorf("carries %s; a letter takes PDFs without scripts or actions that run programs", what)
		}
	}
	if err := api.ValidateContext(ctx); err != nil {
		return fmt.Errorf("is not a valid PDF: %v", err)
	}
	return nil
}

// activeContent names the first script or program launch in obj, or "". Every object in the
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
		case "S":
			if n, ok := v.(types.Name); ok {
				switch decodedName(string(n)) {
				case "JavaScript":
					return "a JavaScript action"
				case "Launch":
					return "a Launch action (it starts a program)"
				}
			}
		}
		if what := activeContent(v, depth+1); what != "" {
			return what
		}
	}
	return ""
}

func decodedName(s string) string {
	if d, err := types.DecodeName(s); err == nil {
		return d
	}
	return s
}

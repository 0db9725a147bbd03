package print

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// flateBomb is a zlib stream of prefix followed by zeros, size bytes in all, about size/1000
// bytes long. It is built without compressing size bytes: once the window holds only zeros,
// the block that encodes the next megabyte of zeros encodes every later one as well.
func flateBomb(prefix []byte, size int64) []byte {
	const chunk = 1 << 20
	first := append(bytes.Clone(prefix), make([]byte, chunk)...)
	var out bytes.Buffer
	out.Write([]byte{0x78, 0xda}) // zlib header, best compression
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	w.Write(first)
	w.Flush()
	start := out.Len()
	w.Write(make([]byte, chunk))
	w.Flush()
	block := bytes.Clone(out.Bytes()[start:])
	n := int64(len(first)) + chunk
	for ; n < size; n += chunk {
		out.Write(block)
	}
	out.Write([]byte{0x01, 0x00, 0x00, 0xff, 0xff}) // the final block, empty
	// Adler-32: zeros leave a as it is and add a to b once each.
	sum := adler32.Checksum(first)
	a, b := uint64(sum&0xffff), uint64(sum>>16)
	b = (b + uint64(n-int64(len(first)))%65521*a) % 65521
	binary.Write(&out, binary.BigEndian, uint32(b<<16|a))
	return out.Bytes()
}

func zlibBytes(b []byte) []byte {
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// xrefStreamPDF writes a PDF whose objects are listed in a cross-reference stream, as PDF 1.5
// and later files are; entries are W [1 4 2] and follow the objects written, numbered from 1.
// extra entries (type 2: in object stream objStm at index i) describe objects inside object
// streams; size and index are the /Size and /Index the xref stream declares.
func xrefStreamPDF(objects []string, extra [][3]int, size int, index string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	var entries bytes.Buffer
	entries.Write([]byte{0, 0, 0, 0, 0, 0xff, 0xff})
	for i, o := range objects {
		entries.WriteByte(1)
		binary.Write(&entries, binary.BigEndian, uint32(b.Len()))
		entries.Write([]byte{0, 0})
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xrefNr := len(objects) + 1
	entries.WriteByte(1)
	binary.Write(&entries, binary.BigEndian, uint32(b.Len()))
	entries.Write([]byte{0, 0})
	for _, e := range extra {
		entries.WriteByte(byte(e[0]))
		binary.Write(&entries, binary.BigEndian, uint32(e[1]))
		binary.Write(&entries, binary.BigEndian, uint16(e[2]))
	}
	if size == 0 {
		size = xrefNr + 1 + len(extra)
	}
	data := zlibBytes(entries.Bytes())
	xref := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /Size %d %s /W [1 4 2] /Root 1 0 R /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj\n",
		xrefNr, size, index, len(data), data)
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

var onePage = []string{
	"<< /Type /Catalog /Pages 2 0 R >>",
	"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
	"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>",
}

// hugeXref declares n objects in its cross-reference stream (all free but the first five),
// in a file of a few hundred kB.
func hugeXref(n int, withIndex bool) []byte {
	free := make([][3]int, n-5)
	index := ""
	if withIndex {
		index = fmt.Sprintf("/Index [0 %d]", n)
	}
	return xrefStreamPDF(onePage, free, n, index)
}

// manyObjects puts n objects (each null) into object streams of 100,000, as a generator
// might; the file is a few MB.
func manyObjects(n int) []byte {
	const perStream = 50_000
	objects := slices.Clone(onePage)
	first := len(objects) + (n+perStream-1)/perStream + 2 // after the pages, the object streams and the xref stream
	var extra [][3]int
	for done := 0; done < n; done += perStream {
		count := min(perStream, n-done)
		var prolog strings.Builder
		for i := range count {
			fmt.Fprintf(&prolog, "%d 0 ", first+done+i)
		}
		content := zlibBytes([]byte(prolog.String() + "null"))
		objects = append(objects, fmt.Sprintf("<< /Type /ObjStm /N %d /First %d /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream",
			count, prolog.Len(), len(content), content))
		objStm := len(objects)
		for i := range count {
			extra = append(extra, [3]int{2, objStm, i})
		}
	}
	return xrefStreamPDF(objects, extra, 0, "")
}

// objectStreamBomb is an object stream whose one object is followed by a gigabyte of zeros.
func objectStreamBomb(size int64) []byte {
	content := flateBomb([]byte("6 0 null "), size)
	objects := append(slices.Clone(onePage), fmt.Sprintf(
		"<< /Type /ObjStm /N 1 /First 4 /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", len(content), content))
	return xrefStreamPDF(objects, [][3]int{{2, 4, 0}}, 0, "")
}

func flateStream(dict string, data []byte) string {
	return fmt.Sprintf("<< /Length %d /Filter /FlateDecode %s >>\nstream\n%s\nendstream", len(data), dict, data)
}

// withinBounds runs check and fails the test when it takes more than 100 MB of allocations
// or 10 seconds: a hostile document must cost the desk and the worker little.
func withinBounds(t *testing.T, check func() error) error {
	t.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := check()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%v in %s, %d MB allocated", err, took.Round(time.Millisecond), allocated>>20)
	if allocated > 100<<20 {
		t.Errorf("allocated %d MB", allocated>>20)
	}
	if took > 10*time.Second {
		t.Errorf("took %s", took)
	}
	return err
}

// The generated bomb is what the tests below say it is: small, and a gigabyte inflated.
func TestFlateBombInflatesToWhatItClaims(t *testing.T) {
	b := flateBomb([]byte("x"), 64<<20)
	r, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil || n < 64<<20 || len(b) > 128<<10 {
		t.Fatalf("%d bytes inflate to %d: %v", len(b), n, err)
	}
}

// Each of these is a small file that asks a PDF reader for a gigabyte or more of memory,
// or for recursion deep enough to take the process down. Each is refused as not printable,
// within bounded memory and time.
func TestValidatePDFRefusesHostileFilesWithinBounds(t *testing.T) {
	bomb := flateBomb(nil, 1<<30)
	nested := func(open, close string, depth int) string {
		return strings.Repeat(open, depth) + "0" + strings.Repeat(close, depth)
	}
	for name, c := range map[string]struct {
		pdf  []byte
		want string
	}{
		"arrays nested 200 deep":     {handmadePDF("/Nested "+nested("[", "]", 200), ""), "nested"},
		"dicts nested 200 deep":      {handmadePDF("/Nested "+nested("<< /A ", " >>", 200), ""), "nested"},
		"arrays nested 100,000 deep": {handmadePDF("/Nested "+nested("[", "]", 100_000), ""), "nested"},
		"page content inflating to 1 GB": {
			handmadePDF("", "/Contents 4 0 R", flateStream("", bomb)), "larger than"},
		"unused stream inflating to 1 GB": {
			handmadePDF("", "", flateStream("", bomb)), "larger than"},
		"metadata inflating to 1 GB": {
			handmadePDF("/Metadata 4 0 R", "", flateStream("/Type /Metadata /Subtype /XML", bomb)), "larger than"},
		"image inflating to 1 GB": {
			handmadePDF("", "/Resources << /XObject << /Im1 4 0 R >> >>",
				flateStream("/Type /XObject /Subtype /Image /Width 32768 /Height 32768 /ColorSpace /DeviceGray /BitsPerComponent 8", bomb)), "larger than"},
		"twice-deflated stream inflating to 1 GB": {
			handmadePDF("", "/Contents 4 0 R", fmt.Sprintf("<< /Length %d /Filter [/FlateDecode /FlateDecode] >>\nstream\n%s\nendstream",
				len(zlibBytes(bomb)), zlibBytes(bomb))), "larger than"},
		"object stream inflating to 1 GB":          {objectStreamBomb(1 << 30), "larger than"},
		"cross-reference stream inflating to 1 GB": {xrefStreamBomb(), "larger than"},
		"xref /Size of 10 million":                 {hugeXref(10_000_000, false), "objects"},
		"xref /Index of 10 million":                {hugeXref(10_000_000, true), "objects"},
		"trailer /Size of 10 million":              {bytes.Replace(handmadePDF("", ""), []byte("/Size 4 "), []byte("/Size 10000000 "), 1), "objects"},
		"a million objects":                        {manyObjects(1_000_000), "objects"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Logf("%d bytes", len(c.pdf))
			err := withinBounds(t, func() error { return ValidatePDF(c.pdf) })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a refusal with %q", err, c.want)
			}
		})
	}
}

// xrefStreamBomb is a file whose cross-reference stream, read before anything else, inflates
// to a gigabyte: five honest entries followed by zeros (free entries).
func xrefStreamBomb() []byte {
	pdf := xrefStreamPDF(onePage, nil, 0, "")
	i := bytes.Index(pdf, []byte("4 0 obj\n"))
	var entries bytes.Buffer
	entries.Write([]byte{0, 0, 0, 0, 0, 0xff, 0xff})
	for _, o := range onePage {
		entries.WriteByte(1)
		binary.Write(&entries, binary.BigEndian, uint32(bytes.Index(pdf, []byte(o))-len("1 0 obj\n")))
		entries.Write([]byte{0, 0})
	}
	entries.WriteByte(1)
	binary.Write(&entries, binary.BigEndian, uint32(i))
	entries.Write([]byte{0, 0})
	data := flateBomb(entries.Bytes(), 1<<30)
	var b bytes.Buffer
	b.Write(pdf[:i])
	fmt.Fprintf(&b, "4 0 obj\n<< /Type /XRef /Size 5 /W [1 4 2] /Root 1 0 R /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj\n", len(data), data)
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", i)
	return b.Bytes()
}

// The print worker reads a letter's documents again when it merges them behind the address
// sheet; a document stored before today's limits is refused there as well, within bounds.
func TestRenderRefusesAHostileDocumentWithinBounds(t *testing.T) {
	bomb := handmadePDF("", "/Contents 4 0 R", flateStream("", flateBomb(nil, 1<<30)))
	err := withinBounds(t, func() error {
		_, _, err := Render(sheet(), [][]byte{bomb})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "document 1") || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("got %v, want a refusal of document 1", err)
	}
}

// Below the limits a stream is checked after reading as well: a page's content may not
// decompress to more than 32 MB even though an image may.
func TestValidatePDFRefusesAContentStreamOverItsLimit(t *testing.T) {
	pdf := handmadePDF("", "/Contents 4 0 R", flateStream("", flateBomb(nil, 64<<20)))
	err := withinBounds(t, func() error { return ValidatePDF(pdf) })
	if err == nil || !strings.Contains(err.Error(), "object 4") || !strings.Contains(err.Error(), "larger than 32 MB") {
		t.Fatalf("got %v, want a refusal of object 4", err)
	}
}

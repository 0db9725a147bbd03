package print

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// What a letter's PDF may ask of a reader. A PDF is small on the wire and may still ask for
// gigabytes: a stream of a few kB that inflates to a gigabyte, or a cross-reference stream
// that declares ten million objects. pdfcpu's own limits (512 MB a stream, ten million
// objects, 100 levels) keep it from crashing, not from taking a desk's or a worker's memory
// for a minute, so a letter gets its own, far below them and far above any real letter.
const (
	// maxObjects: a hundred-page letter with fonts and images has a few thousand.
	maxObjects = 100_000
	// maxNesting: real documents nest arrays and dictionaries a handful of levels deep.
	maxNesting = 64
	// maxStreamDecoded: a page's content, a font or the metadata, decompressed.
	maxStreamDecoded = 32 << 20
	// maxImageDecoded: one image, decompressed; an A4 page scanned at 600 dpi in colour is
	// about 100 MB.
	maxImageDecoded = 128 << 20
	// maxDecoded: every stream of the file together, decompressed (what a print house's
	// printer will have to work through).
	maxDecoded = 512 << 20
)

// readConfiguration is pdfcpu's configuration for reading a sender's PDF, with our limits.
func readConfiguration() *model.Configuration {
	conf := model.NewDefaultConfiguration()
	conf.Limits.MaxDecodeBytes = maxStreamDecoded
	conf.Limits.MaxObjectCount = maxObjects
	conf.Limits.MaxXRefEntries = maxObjects
	conf.Limits.MaxObjectStreamCount = maxObjects
	conf.Limits.MaxObjectStreamFirst = 2 << 20 // the offsets of maxObjects objects
	conf.Limits.MaxRecursionDepth = maxNesting
	return conf
}

// tooDeep tells whether b nests arrays or dictionaries deeper than maxNesting, looking at the
// file as it is written (strings, comments and stream data skipped). pdfcpu stops at its own
// depth, but then drops the object and reads on, so what it dropped would never be checked.
func tooDeep(b []byte) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '%': // a comment, to the end of the line
			for i < len(b) && b[i] != '\n' && b[i] != '\r' {
				i++
			}
		case c == '(': // a string: balanced parentheses, backslash escapes
			for n := 0; i < len(b); i++ {
				if b[i] == '\\' {
					i++
				} else if b[i] == '(' {
					n++
				} else if b[i] == ')' {
					if n--; n == 0 {
						break
					}
				}
			}
		case c == '[' || c == '<' && i+1 < len(b) && b[i+1] == '<':
			if c == '<' {
				i++
			}
			if depth++; depth > maxNesting {
				return true
			}
		case c == ']' || c == '>' && i+1 < len(b) && b[i+1] == '>':
			if c == '>' {
				i++
			}
			depth = max(depth-1, 0)
		case c == '<': // a hex string
			for i < len(b) && b[i] != '>' {
				i++
			}
		case c == 's' && bytes.HasPrefix(b[i:], []byte("stream")) && (i+6 == len(b) || b[i+6] == '\r' || b[i+6] == '\n'):
			end := bytes.Index(b[i:], []byte("endstream"))
			if end < 0 {
				return false
			}
			i += end + len("endstream") - 1
			depth = 0 // a stream ends its object
		case c == 'e' && bytes.HasPrefix(b[i:], []byte("endobj")):
			depth = 0 // so does endobj, whatever was left open in a broken one
		}
	}
	return false
}

// declaresTooManyObjects tells whether a trailer or cross-reference stream of b, as written,
// declares more than maxObjects objects (/Size, or the counts of /Index). pdfcpu allocates
// for what is declared before it reads what is there, and when its own limit stops it, it
// rebuilds the table from what it finds and reads on without a word.
func declaresTooManyObjects(b []byte) bool {
	for _, m := range sizeEntry.FindAllSubmatch(b, -1) {
		if n, err := strconv.Atoi(string(m[1])); err != nil || n > maxObjects {
			return true
		}
	}
	for _, m := range indexEntry.FindAllSubmatch(b, -1) {
		total := 0
		for i, f := range bytes.Fields(m[1]) {
			n, err := strconv.Atoi(string(f))
			if err != nil {
				break
			}
			if i%2 == 1 {
				if total += n; n > maxObjects || total > maxObjects {
					return true
				}
			}
		}
	}
	return false
}

var (
	sizeEntry  = regexp.MustCompile(`/Size[\x00\t\n\f\r ]*(\d{1,20})`)
	indexEntry = regexp.MustCompile(`/Index[\x00\t\n\f\r ]*\[([\d\x00\t\n\f\r ]*)\]`)
)

// rawStreamTooLarge tells whether a stream of b, as written, inflates to more than
// maxImageDecoded. pdfcpu inflates cross-reference streams while it reads the file, into
// memory and up to 512 MB, before streamsTooLarge can look at anything; so every stream is
// inflated here first, into a counter, and again while what comes out is itself deflated.
// Which streams are images is not known yet, so every stream gets the image limit.
func rawStreamTooLarge(b []byte) bool {
	var m meter
	var total int64
	for rest := b; ; {
		i := streamKeyword.FindIndex(rest)
		if i == nil {
			return false
		}
		rest = rest[i[1]:]
		end := bytes.Index(rest, []byte("endstream"))
		if end < 0 {
			end = len(rest)
		}
		n := m.layeredSize(rest[:end], min(maxImageDecoded, maxDecoded-total))
		if n > maxImageDecoded {
			return true
		}
		if total += n; total > maxDecoded {
			return true
		}
		rest = rest[end:]
	}
}

var streamKeyword = regexp.MustCompile(`[\x00\t\n\f\r >]stream\r?\n`)

// layeredSize is how many bytes data inflates to, inflating again as long as what comes out
// starts like a zlib stream, counted up to limit+1; data that is not deflated counts 0.
func (m *meter) layeredSize(data []byte, limit int64) int64 {
	var r io.Reader = bytes.NewReader(data)
	for step := 0; step < 8; step++ {
		br := bufio.NewReader(r)
		head, _ := br.Peek(2)
		if len(head) < 2 || head[0]&0x0f != 8 || (uint16(head[0])<<8|uint16(head[1]))%31 != 0 {
			if step == 0 {
				return 0
			}
			n, _ := io.Copy(io.Discard, io.LimitReader(br, limit+1))
			return n
		}
		zr, err := m.inflate(step, br)
		if err != nil {
			return 0
		}
		r = zr
	}
	return limit + 1 // deflated eight times over is a bomb
}

// streamsTooLarge names the first stream of ctx that decompresses to more than a letter may
// ask for, or all of them together, or "". Streams are decompressed into a counter, never
// into memory, so a bomb costs the time to inflate up to the limit and no more.
func streamsTooLarge(ctx *model.Context) string {
	var total int64
	var m meter
	for nr, entry := range ctx.Table {
		if entry == nil || entry.Free {
			continue
		}
		var sd types.StreamDict
		switch o := entry.Object.(type) {
		case types.StreamDict:
			sd = o
		case types.ObjectStreamDict:
			sd = o.StreamDict
		case types.XRefStreamDict:
			sd = o.StreamDict
		default:
			continue
		}
		limit, what := int64(maxStreamDecoded), "a stream"
		if sd.Image() {
			limit, what = maxImageDecoded, "an image"
		}
		n := m.decodedSize(sd, min(limit, maxDecoded-total))
		if n > limit {
			return fmt.Sprintf("%s (object %d) that is larger than %d MB decompressed", what, nr, limit>>20)
		}
		if total += n; total > maxDecoded {
			return fmt.Sprintf("streams that together are larger than %d MB decompressed", maxDecoded>>20)
		}
	}
	return ""
}

// meter counts decompressed bytes, reusing one inflater per filter of a pipeline for every
// stream of a file.
type meter struct{ inflaters []io.ReadCloser }

func (m *meter) inflate(step int, r io.Reader) (io.Reader, error) {
	for len(m.inflaters) <= step {
		m.inflaters = append(m.inflaters, nil)
	}
	if m.inflaters[step] == nil {
		zr, err := zlib.NewReader(r)
		m.inflaters[step] = zr
		return zr, err
	}
	return m.inflaters[step], m.inflaters[step].(zlib.Resetter).Reset(r, nil)
}

// decodedSize is how many bytes sd decompresses to, counted up to limit+1. Images encoded for
// the printer (JPEG, JPEG 2000, JBIG2, CCITT fax) count as written: they are decoded only
// where they are printed, and no filter after them can inflate them here. A stream that
// does not decompress counts what came out before the error: that it is broken is
// ValidateContext's business.
func (m *meter) decodedSize(sd types.StreamDict, limit int64) int64 {
	var r io.Reader = bytes.NewReader(sd.Raw)
pipeline:
	for step, f := range sd.FilterPipeline {
		switch f.Name {
		case filter.Flate:
			zr, err := m.inflate(step, r)
			if err != nil {
				return 0
			}
			r = zr
		case filter.LZW, filter.ASCII85, filter.ASCIIHex, filter.RunLength:
			// pdfcpu's filters decode into memory, up to limit.
			fi, err := filter.NewFilter(f.Name, intParms(f.DecodeParms), limit)
			if err != nil {
				return 0
			}
			out, err := fi.Decode(io.LimitReader(r, limit+1))
			if errors.Is(err, filter.ErrDecodeLimitExceeded) {
				return limit + 1
			}
			if err != nil {
				return 0
			}
			r = out
		default:
			break pipeline
		}
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(r, limit+1))
	return n
}

func intParms(d types.Dict) map[string]int {
	parms := map[string]int{}
	for k, v := range d {
		if i, ok := v.(types.Integer); ok {
			parms[k] = i.Value()
		}
	}
	return parms
}

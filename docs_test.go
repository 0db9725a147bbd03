package digitalpost_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The README is what a newcomer reads first: what the system is, how to run it, a first letter,
// who it is for and where to go next. Everything else lives in docs/.
const maxReadmeLines = 250

// docPages are the pages the documentation tests read: README.md and every docs/*.md, by path.
func docPages(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{}
	for _, f := range append([]string{"README.md"}, files...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pages[f] = string(b)
	}
	return pages
}

// variableRow matches the configuration table row of one environment variable:
// "| `NAME` | default | meaning |".
func variableRow(name string) *regexp.Regexp {
	return regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(name) + "` \\|[^|]*\\|.*$")
}

// anyVariableRow matches a row whose first cell is an environment variable's name.
var anyVariableRow = regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*(?:<[A-Z]+>)?)` \\|[^|]*\\|")

// Every variable has one row across the README and docs/, so there is one place to read it
// and no second row to go stale.
func TestNoVariableIsDocumentedTwice(t *testing.T) {
	where := map[string][]string{}
	for path, text := range docPages(t) {
		for _, m := range anyVariableRow.FindAllStringSubmatch(text, -1) {
			where[m[1]] = append(where[m[1]], path)
		}
	}
	if len(where) == 0 {
		t.Fatal("no configuration rows found in README.md or docs/*.md")
	}
	for name, paths := range where {
		if len(paths) > 1 {
			slices.Sort(paths)
			t.Errorf("%s has %d configuration rows (%s); document it once, in docs/configuration.md", name, len(paths), strings.Join(paths, ", "))
		}
	}
}

func TestReadmeIsShort(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(b), "\n")
	if len(b) > 0 && b[len(b)-1] != '\n' {
		lines++
	}
	if lines > maxReadmeLines {
		t.Errorf("README.md has %d lines, at most %d: move the detail into docs/ and link it", lines, maxReadmeLines)
	}
}

// architectureDiagram is the fenced block that follows the comment naming this test in
// docs/architecture.md.
func architectureDiagram(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "TestArchitectureDiagramIsCurrent")
	if i < 0 {
		t.Fatal("docs/architecture.md has no comment naming TestArchitectureDiagramIsCurrent before its diagram")
	}
	open := strings.Index(text[i:], "\n```")
	if open < 0 {
		t.Fatal("docs/architecture.md has no fenced diagram after the comment naming TestArchitectureDiagramIsCurrent")
	}
	body := text[i+open+1:]
	body = body[strings.Index(body, "\n")+1:] // past the opening fence and its info string
	end := strings.Index(body, "\n```")
	if end < 0 {
		t.Fatal("docs/architecture.md: the diagram's fence is not closed")
	}
	return body[:end]
}

// names reports whether the diagram names word as a whole word.
func names(diagram, word string) bool {
	return regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(word) + `($|[^A-Za-z0-9_])`).MatchString(diagram)
}

// workflowFuncs are the workflows in workflows/*.go: exported functions whose name ends in
// "Workflow" and whose first parameter is a workflow.Context.
func workflowFuncs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("workflows/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() || !strings.HasSuffix(fn.Name.Name, "Workflow") {
				continue
			}
			params := fn.Type.Params.List
			if len(params) == 0 {
				continue
			}
			sel, ok := params[0].Type.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Context" {
				continue
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "workflow" {
				found = append(found, fn.Name.Name)
			}
		}
	}
	slices.Sort(found)
	return found
}

// dirsWithGo lists the directories matching pattern (a glob of directories) that hold .go files.
func dirsWithGo(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(pattern, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, f := range files {
		d := filepath.ToSlash(filepath.Dir(f))
		if strings.HasPrefix(filepath.Base(d), ".") || filepath.Base(d) == "testdata" {
			continue
		}
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	slices.Sort(dirs)
	return dirs
}

// The architecture document's diagram is the map a newcomer finds their way by: it names every
// package under internal/ (as group/name), every top-level Go package and every workflow, and
// nothing that is gone.
func TestArchitectureDiagramIsCurrent(t *testing.T) {
	diagram := architectureDiagram(t)

	internalPkgs := dirsWithGo(t, "internal/*/*")
	if len(internalPkgs) == 0 {
		t.Fatal("found no packages under internal/*/*")
	}
	for _, dir := range internalPkgs {
		name := strings.TrimPrefix(dir, "internal/")
		if !regexp.MustCompile(`(^|[^A-Za-z0-9_/])(internal/)?` + regexp.QuoteMeta(name) + `($|[^A-Za-z0-9_])`).MatchString(diagram) {
			t.Errorf("the diagram in docs/architecture.md does not name the package %s (write it as %s)", dir, name)
		}
	}

	topLevel := dirsWithGo(t, "*")
	if len(topLevel) == 0 {
		t.Fatal("found no top-level Go packages")
	}
	for _, dir := range topLevel {
		if !regexp.MustCompile(`(^|[^A-Za-z0-9_/.-])` + regexp.QuoteMeta(dir) + `/`).MatchString(diagram) {
			t.Errorf("the diagram in docs/architecture.md does not name the top-level package %s (write it as %s/)", dir, dir)
		}
	}

	wfs := workflowFuncs(t)
	if !slices.Contains(wfs, "LetterWorkflow") {
		t.Fatalf("found workflows %v in workflows/*.go, not LetterWorkflow: the parser missed them", wfs)
	}
	for _, wf := range wfs {
		if !names(diagram, wf) {
			t.Errorf("the diagram in docs/architecture.md does not name the workflow %s", wf)
		}
	}

	// Nothing stale: every internal/... path, group/name and top-level dir/ it names exists.
	groups, err := filepath.Glob("internal/*")
	if err != nil {
		t.Fatal(err)
	}
	var groupNames []string
	for _, g := range groups {
		if fi, err := os.Stat(g); err == nil && fi.IsDir() {
			groupNames = append(groupNames, regexp.QuoteMeta(filepath.Base(g)))
		}
	}
	exists := func(path string) bool {
		fi, err := os.Stat(path)
		return err == nil && fi.IsDir()
	}
	stale := map[string]bool{}
	for _, m := range regexp.MustCompile(`internal/[a-z0-9_]+(?:/[a-z0-9_]+)*`).FindAllString(diagram, -1) {
		if !exists(m) {
			stale[m] = true
		}
	}
	if len(groupNames) > 0 {
		pattern := `(?:^|[^A-Za-z0-9_/])((?:` + strings.Join(groupNames, "|") + `)/[a-z0-9_]+)`
		for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(diagram, -1) {
			if !exists("internal/" + m[1]) {
				stale[m[1]] = true
			}
		}
	}
	for _, m := range regexp.MustCompile(`(?:^|[\s(])([a-z][a-z0-9_-]*)/(?:$|[\s),])`).FindAllStringSubmatch(diagram, -1) {
		if !exists(m[1]) {
			stale[m[1]+"/"] = true
		}
	}
	for path := range stale {
		t.Errorf("the diagram in docs/architecture.md names %s, which does not exist", path)
	}
}

var (
	fencedBlock = regexp.MustCompile("(?ms)^```.*?^```[ \t]*$")
	codeSpan    = regexp.MustCompile("`[^`\n]*`")
	mdLink      = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	urlScheme   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	heading     = regexp.MustCompile(`(?m)^#{1,6}[ \t]+(.+?)[ \t#]*$`)
)

// anchors are the fragment ids GitHub gives a markdown file's headings: lower case, letters,
// digits, spaces, hyphens and underscores kept, spaces made hyphens, a repeat numbered.
func anchors(markdown string) map[string]bool {
	ids := map[string]bool{}
	seen := map[string]int{}
	for _, m := range heading.FindAllStringSubmatch(fencedBlock.ReplaceAllString(markdown, ""), -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		id := b.String()
		if n := seen[id]; n > 0 {
			ids[id+"-"+strconv.Itoa(n)] = true
		} else {
			ids[id] = true
		}
		seen[id]++
	}
	return ids
}

// Every relative link in the README and docs/ leads to a file (or folder) that exists, and a
// link to a heading of a markdown file to a heading it has.
func TestDocLinksResolve(t *testing.T) {
	pages := docPages(t)
	checked := 0
	for path, text := range pages {
		text = codeSpan.ReplaceAllStringFunc(fencedBlock.ReplaceAllString(text, ""), func(s string) string {
			return strings.Repeat(" ", len(s)) // keeps link text that is code: [`x`](y) -> [   ](y)
		})
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if urlScheme.MatchString(target) || strings.HasPrefix(target, "#") {
				continue
			}
			file, fragment, _ := strings.Cut(target, "#")
			resolved := filepath.Join(filepath.Dir(path), filepath.FromSlash(file))
			checked++
			if _, err := os.Stat(resolved); err != nil {
				t.Errorf("%s links to %s, which does not exist (%s)", path, target, resolved)
				continue
			}
			if fragment != "" && strings.HasSuffix(resolved, ".md") {
				b, err := os.ReadFile(resolved)
				if err != nil {
					t.Fatal(err)
				}
				if !anchors(string(b))[fragment] {
					t.Errorf("%s links to %s, but %s has no heading #%s", path, target, resolved, fragment)
				}
			}
		}
		// Links within the page itself.
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			if fragment, ok := strings.CutPrefix(m[1], "#"); ok && !anchors(pages[path])[fragment] {
				t.Errorf("%s links to #%s, a heading it does not have", path, fragment)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no relative links in README.md and docs/*.md: the link pattern is broken")
	}
}

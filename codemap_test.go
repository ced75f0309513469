package mote

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/mote-analytics/mote"

// TestCodeMap checks README's "Code map" against the tree: every Go
// package has a row, every row names a package, and no package imports a
// package of this module that its row does not allow (test files aside:
// tests may reach for internal/testenv and helpers).
func TestCodeMap(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Code map\n")
	if !ok {
		t.Fatal("README.md has no '## Code map' section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	allowed := map[string][]string{} // package dir -> allowed imports ("*": everything)
	for line := range strings.Lines(section) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) != 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		dir := strings.Trim(strings.Fields(cells[1])[0], "`")
		if dir == "mote" {
			dir = "."
		}
		var may []string
		switch deps := strings.TrimSpace(cells[3]); deps {
		case "everything":
			may = []string{"*"}
		case "nothing":
		default:
			for _, d := range strings.Split(deps, ",") {
				may = append(may, strings.Trim(strings.TrimSpace(d), "`"))
			}
		}
		allowed[dir] = may
	}

	seen := map[string]bool{}
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		may, listed := allowed[dir]
		if !listed {
			t.Errorf("package %s (%s) has no row in README's code map", dir, path)
			return nil
		}
		seen[dir] = true
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p != modulePath && !strings.HasPrefix(p, modulePath+"/") {
				continue
			}
			own := strings.TrimPrefix(strings.TrimPrefix(p, modulePath), "/")
			if own == "" {
				own = "mote"
			}
			if !slices.Contains(may, "*") && !slices.Contains(may, own) {
				t.Errorf("%s imports %s, which the code map does not allow for %s", path, own, dir)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir := range allowed {
		if !seen[dir] {
			t.Errorf("the code map lists %s, which holds no Go package", dir)
		}
	}
}

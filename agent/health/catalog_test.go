package health

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/catalog"
)

// TestFixesExistInCatalog reads this package's sources (every OS's files)
// and checks that each fix a check can name is a catalog.X constant whose
// value is a fix in catalog.All(), and that no result names a fix by a bare
// string.
func TestFixesExistInCatalog(t *testing.T) {
	inCatalog := map[string]bool{}
	for _, f := range catalog.All() {
		inCatalog[f.ID] = true
	}
	// The catalog's constants, name to value, from its source.
	consts := map[string]string{}
	cf, err := parser.ParseFile(token.NewFileSet(), "../../shared/catalog/catalog.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range cf.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						consts[n.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	files, _ := filepath.Glob("*.go")
	named := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "result" || len(call.Args) < 2 {
				return true
			}
			switch a := call.Args[1].(type) {
			case *ast.BasicLit:
				if a.Value != `""` {
					t.Errorf("%s: result names fix %s by a bare string; use a catalog constant", name, a.Value)
				}
			case *ast.SelectorExpr:
				pkg, _ := a.X.(*ast.Ident)
				if pkg == nil || pkg.Name != "catalog" {
					t.Errorf("%s: fix %s is not a catalog constant", name, a.Sel.Name)
					break
				}
				id, ok := consts[a.Sel.Name]
				if !ok || !inCatalog[id] {
					t.Errorf("%s: catalog.%s (%q) is not a fix in catalog.All()", name, a.Sel.Name, id)
				}
				named++
			case *ast.Ident:
				if a.Name != "fix" { // result's own parameter, passed through
					t.Errorf("%s: fix given as %s; use a catalog constant", name, a.Name)
				}
			}
			return true
		})
	}
	if named < 10 {
		t.Errorf("found only %d fixes named by checks; the scan is broken", named)
	}
}

// TestCatalogVerifiesWithRealChecks: the checks a catalog fix runs to
// verify itself exist here.
func TestCatalogVerifiesWithRealChecks(t *testing.T) {
	have := map[string]bool{}
	for _, c := range Checks(Config{}, Env{}) {
		have[c.Name()] = true
	}
	for _, f := range catalog.All() {
		for _, v := range f.Verify {
			if !have[v] {
				t.Errorf("fix %s verifies with check %q, which does not exist", f.ID, v)
			}
		}
	}
}

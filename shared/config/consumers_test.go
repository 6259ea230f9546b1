package config_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/config"
)

const configImport = "github.com/designerbff/pipeline/shared/config"

// Every Config field must be read by code outside this package: a setting
// nobody reads is a variable an operator sets for nothing. The scan parses
// the module's non-test files that import this package and collects the
// field names they select (without type information, so a same-named field
// of another type in such a file also counts: a weak check, but one that
// catches a field nothing reads at all).
func TestEveryConfigFieldHasAConsumer(t *testing.T) {
	t.Parallel()
	selected := map[string]bool{}
	files := 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); strings.HasPrefix(name, ".") && path != "../.." || name == "testdata" || name == "config" && filepath.Base(filepath.Dir(path)) == "shared" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if !imports(f, configImport) {
			return nil
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				selected[sel.Sel.Name] = true
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, files, 3, "the scan found too few files importing %s; has the layout changed?", configImport)
	var unread []string
	for f := range reflect.TypeFor[config.Config]().Fields() {
		if f.IsExported() && !selected[f.Name] {
			unread = append(unread, f.Name)
		}
	}
	require.Empty(t, unread, "Config fields that no code outside shared/config reads")
}

func imports(f *ast.File, path string) bool {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == path {
			return true
		}
	}
	return false
}

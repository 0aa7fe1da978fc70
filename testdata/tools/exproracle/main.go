// Command exproracle is Go's type checker as the oracle of Periscope's expression checker.
//
// Usage: exproracle DIR FUNC < expressions.json
//
// It type-checks the package in DIR with go/types, then evaluates each expression of the
// JSON array on stdin (types.Eval) in the scope of FUNC's body, where its locals are
// visible, and prints, as JSON, whether Go accepts it: the error and its column when it does
// not, else the expression's type (and its value when it is a constant). It also checks
// that each case `c("src", expr)` or `try("src", func() any { return expr })` of FUNC
// names its expression honestly: src must parse to the very expression compiled beside it.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

type verdict struct {
	Src    string `json:"src"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Column int    `json:"column,omitempty"`
	Type   string `json:"type,omitempty"`
	Value  string `json:"value,omitempty"`
}

type report struct {
	// Cases lists the source of every case of FUNC, in order.
	Cases []string `json:"cases"`
	// Dishonest lists the cases whose source text is not the expression compiled beside it.
	Dishonest []string  `json:"dishonest"`
	Checks    []verdict `json:"checks"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: exproracle DIR FUNC < expressions.json")
		os.Exit(2)
	}
	dir, fname := os.Args[1], os.Args[2]
	var srcs []string
	if err := json.NewDecoder(os.Stdin).Decode(&srcs); err != nil {
		fail(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	paths, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			fail(err)
		}
		files = append(files, f)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	pkg, err := conf.Check("main", fset, files, nil)
	if err != nil {
		fail(err)
	}
	var body *ast.BlockStmt
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == fname && fd.Recv == nil {
				body = fd.Body
			}
		}
	}
	if body == nil {
		fail(fmt.Errorf("no function %s in %s", fname, dir))
	}
	rep := report{Cases: []string{}, Dishonest: []string{}, Checks: []verdict{}}
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 2 {
			return true
		}
		id, ok := call.Fun.(*ast.Ident)
		if !ok || (id.Name != "c" && id.Name != "try") {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok {
			return true
		}
		src, err := strconv.Unquote(lit.Value)
		if err != nil {
			fail(err)
		}
		rep.Cases = append(rep.Cases, src)
		compiled := call.Args[1]
		if id.Name == "try" {
			compiled = returned(compiled)
		}
		parsed, err := parser.ParseExpr(src)
		if err != nil || compiled == nil || types.ExprString(parsed) != types.ExprString(compiled) {
			rep.Dishonest = append(rep.Dishonest, src)
		}
		return false
	})
	// Every local of FUNC is declared before its closing brace.
	pos := body.Rbrace
	for _, src := range srcs {
		v := verdict{Src: src}
		tv, err := types.Eval(fset, pkg, pos, src)
		if err != nil {
			v.Error = err.Error()
			var te types.Error
			if errors.As(err, &te) {
				v.Error = te.Msg
				v.Column = te.Fset.Position(te.Pos).Column
			}
		} else {
			v.OK = true
			v.Type = tv.Type.String()
			if tv.Value != nil {
				v.Value = tv.Value.ExactString()
			}
		}
		rep.Checks = append(rep.Checks, v)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		fail(err)
	}
}

// returned is X of `func() any { return X }`.
func returned(e ast.Expr) ast.Expr {
	fl, ok := e.(*ast.FuncLit)
	if !ok || len(fl.Body.List) != 1 {
		return nil
	}
	ret, ok := fl.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return nil
	}
	return ret.Results[0]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "exproracle:", err)
	os.Exit(1)
}

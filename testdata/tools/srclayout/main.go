// Command srclayout prints the memory layout of types of the Go standard library as
// computed by go/types from the source of the Go release that runs it (the "gc" sizes for
// amd64). It is an oracle for the runtime layout Periscope derives from DWARF.
//
// Usage: srclayout PKG.TYPE... (e.g. runtime.g internal/runtime/maps.Map)
//
//	srclayout -consts PKG PREFIX (the package-level integer constants whose names start with PREFIX)
package main

import (
	"encoding/json"
	"fmt"
	"go/constant"
	"go/importer"
	"go/token"
	"go/types"
	"os"
	"strings"
)

type field struct {
	Name   string `json:"name"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
}

type layout struct {
	Size   int64   `json:"size"`
	Fields []field `json:"fields"`
}

func main() {
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "source", nil).(types.ImporterFrom)
	sizes := types.SizesFor("gc", "amd64")
	if len(os.Args) == 4 && os.Args[1] == "-consts" {
		printConsts(imp, os.Args[2], os.Args[3])
		return
	}
	out := map[string]*layout{}
	for _, arg := range os.Args[1:] {
		dot := strings.LastIndex(arg, ".")
		pkgPath, name := arg[:dot], arg[dot+1:]
		pkg, err := imp.ImportFrom(pkgPath, "", 0)
		if pkg == nil {
			// Not in this release (e.g. internal/runtime/maps before Go 1.24).
			fmt.Fprintln(os.Stderr, "import", pkgPath, err)
			out[arg] = nil
			continue
		}
		obj := pkg.Scope().Lookup(name)
		if obj == nil {
			out[arg] = nil
			continue
		}
		st, ok := obj.Type().Underlying().(*types.Struct)
		if !ok {
			out[arg] = nil
			continue
		}
		var vars []*types.Var
		for i := 0; i < st.NumFields(); i++ {
			vars = append(vars, st.Field(i))
		}
		offs := sizes.Offsetsof(vars)
		l := &layout{Size: sizes.Sizeof(st), Fields: []field{}}
		for i, v := range vars {
			l.Fields = append(l.Fields, field{Name: v.Name(), Offset: offs[i], Size: sizes.Sizeof(v.Type())})
		}
		out[arg] = l
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}

func printConsts(imp types.ImporterFrom, pkgPath, prefix string) {
	pkg, err := imp.ImportFrom(pkgPath, "", 0)
	if pkg == nil {
		fmt.Fprintln(os.Stderr, "import", pkgPath, err)
		os.Exit(1)
	}
	out := map[string]int64{}
	for _, name := range pkg.Scope().Names() {
		c, ok := pkg.Scope().Lookup(name).(*types.Const)
		if !ok || !strings.HasPrefix(name, prefix) {
			continue
		}
		if v, exact := constant.Int64Val(c.Val()); exact {
			out[name] = v
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}

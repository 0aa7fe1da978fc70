// Command dwarfranges prints, as JSON, the PC ranges that Go's own debug/dwarf reads for every
// DIE with DW_AT_ranges in the "main" compile unit of the binary named by its argument: an
// independent oracle for range lists (binutils 2.40 cannot walk Go's .debug_rnglists).
package main

import (
	"debug/dwarf"
	"debug/elf"
	"encoding/json"
	"os"
	"strconv"
)

func main() {
	f, err := elf.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	d, err := f.DWARF()
	if err != nil {
		panic(err)
	}
	out := map[string][][2]uint64{}
	r := d.Reader()
	inMain := false
	for {
		e, err := r.Next()
		if err != nil {
			panic(err)
		}
		if e == nil {
			break
		}
		if e.Tag == dwarf.TagCompileUnit {
			inMain = e.Val(dwarf.AttrName) == "main"
			continue
		}
		if !inMain || e.AttrField(dwarf.AttrRanges) == nil {
			continue
		}
		rs, err := d.Ranges(e)
		if err != nil {
			panic(err)
		}
		pairs := [][2]uint64{}
		for _, p := range rs {
			if p[1] > p[0] {
				pairs = append(pairs, p)
			}
		}
		out[strconv.FormatInt(int64(e.Offset), 10)] = pairs
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}

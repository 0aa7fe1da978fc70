// Command types defines many kinds of Go types and prints, as JSON, what the compiler and
// runtime know about each (name, size, kind, field offsets, element types, runtime type
// address), so tests can compare a DWARF reader against it. It also holds a few functions
// with known parameters, locals and an inlined call chain.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"time"
	"unsafe"
)

type Scalars struct {
	B    bool
	I    int
	I8   int8
	I16  int16
	I32  int32
	I64  int64
	U    uint
	U8   uint8
	U16  uint16
	U32  uint32
	U64  uint64
	UP   uintptr
	F32  float32
	F64  float64
	C64  complex64
	C128 complex128
	S    string
}

type Padded struct {
	A bool
	B int64
	C bool
	D int32
	E bool
	F int16
	G [3]byte
	H float64
}

type Point struct{ X, Y int }

type Embeds struct {
	Point
	*Scalars
	Name  string
	inner struct {
		A int
		B string
	}
}

type Nested struct {
	Grid [3][4]int16
	Pts  [2]Point
	Ptrs [2]*Point
	Cube [2][2][2]uint8
}

type Collections struct {
	Sl  []int
	SS  [][]string
	M1  map[string]int
	M2  map[int][]Point
	M3  map[Point]*Embeds
	M4  map[string]map[int]bool
	Ch  chan int
	RCh <-chan string
	SCh chan<- Point
}

type Funcs struct {
	F func(int) string
	G func(...int) (int, error)
	H func()
}

type Shape interface {
	Area() float64
	Perimeter() float64
}

type Ifaces struct {
	E   any
	Err error
	S   Shape
	St  fmt.Stringer
}

type Pair[K comparable, V any] struct {
	Key  K
	Val  V
	Next *Pair[K, V]
}

type Box[T any] struct {
	Items []T
	Count int
	Zero  T
}

type Node struct {
	Val    int
	Left   *Node
	Right  *Node
	Kids   []*Node
	ByName map[string]*Node
}

type CycA struct{ B *CycB }
type CycB struct {
	A    *CycA
	Self []CycB
}

type Raw struct {
	P unsafe.Pointer
	T time.Time
	D time.Duration
}

type MyInt int
type MyString string
type IntList []int
type Handler func(string) error
type Empty struct{}

type WithEmpty struct {
	A int32
	E Empty
	B int8
}

type Rect struct{ W, H float64 }

func (r Rect) Area() float64      { return r.W * r.H }
func (r Rect) Perimeter() float64 { return 2 * (r.W + r.H) }

//go:noinline
func (n *Node) Sum() int {
	if n == nil {
		return 0
	}
	total := n.Val
	for _, k := range n.Kids {
		total += k.Sum()
	}
	return total + n.Left.Sum() + n.Right.Sum()
}

func (p Point) String() string { return fmt.Sprintf("(%d,%d)", p.X, p.Y) }

//go:noinline
func bump(v int) int { return v + 1 }

var counter, total int

// leaf, middle and outer form an inlined call chain: outer -> middle -> leaf.
func leaf(x int) int {
	w := counter + x
	counter = w
	return w * 3
}

func middle(y int) int {
	z := leaf(y) + total
	total = z
	return z * 2
}

//go:noinline
func outer(a int, b string) (sum int, ok bool) {
	n := middle(a)
	sum = bump(n) + len(b)
	if sum > 10 {
		extra := bump(sum) / 2
		sum += extra * n
	}
	ok = sum%2 == 0
	return sum, ok
}

//go:noinline
func Map[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

type fieldInfo struct {
	Name     string  `json:"name"`
	Offset   uintptr `json:"offset"`
	Type     string  `json:"type"`
	Embedded bool    `json:"embedded"`
}

type typeInfo struct {
	Name    string      `json:"name"`
	Size    uintptr     `json:"size"`
	Kind    string      `json:"kind"`
	Elem    string      `json:"elem,omitempty"`
	Key     string      `json:"key,omitempty"`
	Len     int         `json:"len,omitempty"`
	Fields  []fieldInfo `json:"fields,omitempty"`
	Runtime uintptr     `json:"runtime"`
}

// typeWord is the address of the runtime type descriptor behind a reflect.Type.
func typeWord(t reflect.Type) uintptr {
	return (*[2]uintptr)(unsafe.Pointer(&t))[1]
}

func describe(t reflect.Type, seen map[reflect.Type]*typeInfo, depth int) {
	if seen[t] != nil || depth > 6 {
		return
	}
	ti := &typeInfo{Name: t.String(), Size: t.Size(), Kind: t.Kind().String(), Runtime: typeWord(t)}
	seen[t] = ti
	switch t.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			ti.Fields = append(ti.Fields, fieldInfo{f.Name, f.Offset, f.Type.String(), f.Anonymous})
			describe(f.Type, seen, depth+1)
		}
	case reflect.Array:
		ti.Len = t.Len()
		ti.Elem = t.Elem().String()
		describe(t.Elem(), seen, depth+1)
	case reflect.Pointer, reflect.Slice, reflect.Chan:
		ti.Elem = t.Elem().String()
		describe(t.Elem(), seen, depth+1)
	case reflect.Map:
		ti.Key = t.Key().String()
		ti.Elem = t.Elem().String()
		describe(t.Key(), seen, depth+1)
		describe(t.Elem(), seen, depth+1)
	}
}

var keep []any
var sink any

// all holds a value of every type, so that every toolchain's linker emits their DWARF
// (older ones only describe types that some variable's DWARF refers to).
var all struct {
	Scalars     Scalars
	Padded      Padded
	Embeds      Embeds
	Nested      Nested
	Collections Collections
	Funcs       Funcs
	Ifaces      Ifaces
	P1          Pair[int, string]
	P2          Pair[string, *Point]
	P3          *Pair[int, string]
	B1          Box[float64]
	B2          Box[Point]
	B3          Box[[]byte]
	Node        Node
	PNode       *Node
	CycA        CycA
	CycB        CycB
	Raw         Raw
	MyInt       MyInt
	MyString    MyString
	IntList     IntList
	Handler     Handler
	Empty       Empty
	WithEmpty   WithEmpty
	Rect        Rect
	Shapes      []Shape
	M1          map[string]int
	M2          map[Point]string
	Arr         [5]float32
	SArr        [][2]int
	Ch          chan *Node
	T           time.Time
	UP          unsafe.Pointer
	PAny        *any
}

func main() {
	keep = []any{
		Scalars{}, Padded{}, Point{}, &Point{}, Embeds{}, Nested{}, Collections{}, Funcs{}, Ifaces{},
		Pair[int, string]{}, Pair[string, *Point]{}, &Pair[int, string]{}, Box[float64]{}, Box[Point]{},
		Box[[]byte]{}, Node{}, &Node{}, CycA{}, CycB{}, Raw{}, MyInt(0), MyString(""), IntList{},
		Handler(nil), Empty{}, WithEmpty{}, Rect{}, []Shape{Rect{}}, map[string]int{}, map[Point]string{},
		[5]float32{}, [][2]int{}, make(chan *Node), time.Time{}, unsafe.Pointer(nil), new(any),
	}
	// Cross-check reflect against the compiler's own unsafe.Sizeof/Offsetof on a few types.
	if unsafe.Sizeof(Padded{}) != reflect.TypeOf(Padded{}).Size() ||
		unsafe.Offsetof(Padded{}.H) != reflect.TypeOf(Padded{}).Field(7).Offset ||
		unsafe.Offsetof(Embeds{}.Name) != reflect.TypeOf(Embeds{}).Field(2).Offset ||
		unsafe.Sizeof(Scalars{}) != reflect.TypeOf(Scalars{}).Size() ||
		unsafe.Offsetof(WithEmpty{}.B) != reflect.TypeOf(WithEmpty{}).Field(2).Offset {
		panic("reflect disagrees with unsafe")
	}
	sink = &all
	seen := map[reflect.Type]*typeInfo{}
	for _, v := range keep {
		describe(reflect.TypeOf(v), seen, 0)
	}
	out := make([]*typeInfo, 0, len(seen))
	for _, ti := range seen {
		out = append(out, ti)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	// Exercise the functions so their code (and DWARF) is kept.
	s, ok := outer(len(os.Args), "hello")
	n := &Node{Val: 1, Kids: []*Node{{Val: 2}}, Left: &Node{Val: 3}}
	strs := Map([]int{1, 2}, func(i int) string { return Point{i, i}.String() })
	lens := Map([]string{"a"}, func(s string) int { return len(s) })
	var sh Shape = Rect{2, 3}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(map[string]any{
		"types":  out,
		"values": []any{s, ok, n.Sum(), strs, lens, sh.Area()},
	}); err != nil {
		panic(err)
	}
}

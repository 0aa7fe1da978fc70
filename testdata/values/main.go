// Command values holds package-level variables of every kind of Go value, fills them,
// prints "ready" and blocks forever, so a debugger can read them from outside.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"net"
	"os"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // named zones even where the system has no tzdata
	"unsafe"
)

type Point struct {
	X, Y int
}

type Inner struct {
	A int32
	B string
}

type Outer struct {
	Inner
	*Point
	C    []byte
	D    map[string]int
	Next *Outer
}

type Node struct {
	Val  int
	Next *Node
}

type Pair[K comparable, V any] struct {
	Key K
	Val V
}

type Stack[T any] struct {
	Items []T
	Top   T
}

type MyErr struct {
	Code int
	Msg  string
}

func (e *MyErr) Error() string { return fmt.Sprintf("code %d: %s", e.Code, e.Msg) }

type Shape interface {
	Area() float64
}

type Square struct{ Side float64 }

func (s Square) Area() float64 { return s.Side * s.Side }

type ctxKey string

var (
	vBool                  bool
	vFalse                 bool
	vInt8Min, vInt8Max     int8
	vInt16Min, vInt16Max   int16
	vInt32Min, vInt32Max   int32
	vInt64Min, vInt64Max   int64
	vInt, vIntNeg          int
	vUint8Max              uint8
	vUint16Max             uint16
	vUint32Max             uint32
	vUint64Max             uint64
	vUint64Small           uint64
	vUintptr               uintptr
	vByte                  byte
	vRune                  rune
	vFloat32               float32
	vFloat64               float64
	vNaN, vPosInf, vNegInf float64
	vComplex64             complex64
	vComplex128            complex128

	vString      string
	vEmptyString string
	vLongString  string
	vBadUTF8     string
	vUnicode     string

	vArray      [5]int
	vArrayLong  [100]uint16
	vArrayPts   [2]Point
	vSliceNil   []int
	vSliceEmpty []int
	vSlice      []string
	vSliceLong  []int
	vBytes      []byte

	vPoint  Point
	vOuter  Outer
	vPtr    *Point
	vPtrNil *Point
	vPtrPtr **Point
	vCycle  *Node
	vUnsafe unsafe.Pointer

	vMapNil       map[string]int
	vMapEmpty     map[string]int
	vMapStrInt    map[string]int
	vMapIntStr    map[int]string
	vMapStructKey map[Point]string
	vMapLarge     map[int]int
	vMapLargeStr  map[string]int
	vMapDeleted   map[int]int
	vMapGrowing   map[int]int
	vMapPtrVal    map[string]*Point
	vMapBigVal    map[int64][40]byte
	vMapIface     map[string]any
	vMapNested    map[string]map[string]int

	vIfaceNil    any
	vIfaceInt    any
	vIfaceString any
	vIfacePtr    any
	vIfaceStruct any
	vIfaceErr    any
	vIfaceSlice  any
	vIfaceMap    any
	vShape       Shape
	vShapeNil    Shape
	vStringer    fmt.Stringer
	vIfaceAny    any   // **interface{}
	vIfaceKinds  []any // dynamic types only ever converted to an interface (go1.22 has no DWARF for some)

	vChanNil      chan int
	vChanBuffered chan int
	vChanClosed   chan string
	vChanUnbuf    chan struct{}

	vFunc      func(int) int
	vFuncNil   func()
	vClosure   func() int
	vMethodVal func() float64

	vPairSI   Pair[string, int]
	vPairPP   Pair[int, *Point]
	vStackF   Stack[float64]
	vPairList []Pair[string, int]

	vTime         time.Time
	vTimeUTC      time.Time
	vTimeZero     time.Time
	vTimeFixed    time.Time
	vTimes        []time.Time
	vDuration     time.Duration
	vDurationNeg  time.Duration
	vDurationTiny time.Duration
	vDurationBig  time.Duration

	vCtxBackground context.Context
	vCtx           context.Context
	vCtxCancel     context.CancelFunc

	vMutex       sync.Mutex
	vMutexFree   sync.Mutex
	vRWMutex     sync.RWMutex
	vRWMutexFree sync.RWMutex

	vIPv4  net.IP
	vIPv6  net.IP
	vIPNil net.IP

	vErrNew     error
	vErrWrapped error
	vErrCustom  error
	vErrNil     error
	vErrJoined  error
)

func double(x int) int { return x * 2 }

func fill() {
	vBool = true
	vInt8Min, vInt8Max = math.MinInt8, math.MaxInt8
	vInt16Min, vInt16Max = math.MinInt16, math.MaxInt16
	vInt32Min, vInt32Max = math.MinInt32, math.MaxInt32
	vInt64Min, vInt64Max = math.MinInt64, math.MaxInt64
	vInt, vIntNeg = 42, -7
	vUint8Max, vUint16Max, vUint32Max, vUint64Max = math.MaxUint8, math.MaxUint16, math.MaxUint32, math.MaxUint64
	vUint64Small = 1 << 53
	vUintptr = 0xdeadbeef
	vByte, vRune = 'A', '世'
	vFloat32, vFloat64 = 1.5, 3.141592653589793
	vNaN, vPosInf, vNegInf = math.NaN(), math.Inf(1), math.Inf(-1)
	vComplex64, vComplex128 = complex(1, -2), complex(0.5, 1e100)

	vString = "hello, world"
	vLongString = strings.Repeat("abcdefghij", 100)
	vBadUTF8 = "ok\xff\xfe\x00end"
	vUnicode = "héllo 世界 🚀"

	vArray = [5]int{1, 2, 3, 4, 5}
	for i := range vArrayLong {
		vArrayLong[i] = uint16(i * 3)
	}
	vArrayPts = [2]Point{{1, 2}, {3, 4}}
	vSliceEmpty = []int{}
	vSlice = make([]string, 3, 10)
	vSlice[0], vSlice[1], vSlice[2] = "a", "bb", "ccc"
	vSliceLong = make([]int, 1000)
	for i := range vSliceLong {
		vSliceLong[i] = i * i
	}
	vBytes = []byte("bytes\x00\x01")

	vPoint = Point{10, -20}
	vPtr = &Point{7, 8}
	vPtrPtr = &vPtr
	vOuter = Outer{Inner: Inner{A: 5, B: "inner"}, Point: vPtr, C: []byte{1, 2, 3}, D: map[string]int{"k": 1}}
	vOuter.Next = &vOuter
	n1 := &Node{Val: 1}
	n2 := &Node{Val: 2, Next: n1}
	n1.Next = n2
	vCycle = n1

	vMapEmpty = map[string]int{}
	vMapStrInt = map[string]int{"one": 1, "two": 2, "three": 3}
	vMapIntStr = map[int]string{1: "one", -2: "minus two", 1 << 40: "big"}
	vMapStructKey = map[Point]string{{1, 2}: "a", {3, 4}: "b"}
	vMapLarge = make(map[int]int)
	for i := 0; i < 5000; i++ {
		vMapLarge[i] = i * 10
	}
	vMapLargeStr = make(map[string]int)
	for i := 0; i < 2000; i++ {
		vMapLargeStr[fmt.Sprintf("key%05d", i)] = i
	}
	vMapDeleted = make(map[int]int)
	for i := 0; i < 100; i++ {
		vMapDeleted[i] = i
	}
	for i := 0; i < 100; i += 3 {
		delete(vMapDeleted, i)
	}
	// Classic maps grow incrementally: adding the entry that crosses the load factor
	// allocates new buckets and only evacuates a couple per later write, so the map
	// stays mid-growth while nothing else touches it.
	vMapGrowing = make(map[int]int)
	for i := 0; i < 105; i++ {
		vMapGrowing[i] = -i
	}
	vMapPtrVal = map[string]*Point{"p": {1, 1}, "nil": nil}
	vMapBigVal = map[int64][40]byte{7: {1, 2, 3}}
	vMapIface = map[string]any{"i": 1, "s": "str", "nil": nil}
	vMapNested = map[string]map[string]int{"outer": {"inner": 9}}

	vIfaceInt = 123
	vIfaceString = "boxed"
	vIfacePtr = &Point{5, 6}
	vIfaceStruct = Point{9, 9}
	vIfaceErr = errors.New("boxed error")
	vIfaceSlice = []int{1, 2}
	vIfaceMap = map[string]int{"x": 1}
	vShape = Square{Side: 2}
	vStringer = time.Duration(1500) * time.Millisecond
	var inner any = 7
	pInner := &inner
	vIfaceAny = &pInner
	pt := &Point{1, 2}
	vIfaceKinds = []any{&pt, []*Point{pt}, [2]*Point{pt, nil}, make(chan *Point, 3), map[string]*Point{"p": pt},
		struct{ A, B int }{3, 4}, &struct{ S string }{"anon"}, []Point{{5, 6}}, new(int), [1]bool{true}}

	vChanBuffered = make(chan int, 5)
	vChanBuffered <- 1
	vChanBuffered <- 2
	vChanClosed = make(chan string, 2)
	vChanClosed <- "left"
	close(vChanClosed)
	vChanUnbuf = make(chan struct{})

	vFunc = double
	k := 3
	vClosure = func() int { k++; return k }
	vMethodVal = Square{Side: 3}.Area

	vPairSI = Pair[string, int]{"answer", 42}
	vPairPP = Pair[int, *Point]{1, &Point{2, 3}}
	vStackF = Stack[float64]{Items: []float64{1.25, 2.5}, Top: 2.5}
	vPairList = []Pair[string, int]{{"a", 1}, {"b", 2}}

	vTime = time.Now()
	vTimeUTC = time.Date(2024, 2, 29, 13, 14, 15, 123456789, time.UTC)
	vTimeFixed = time.Date(2023, 12, 31, 23, 59, 59, 5, time.FixedZone("X", -(3*3600+30*60)))
	vTimes = timesAcrossRange()
	vDuration = 1500 * time.Millisecond
	vDurationNeg = -(2*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Millisecond)
	vDurationTiny = 1234 * time.Nanosecond
	vDurationBig = math.MaxInt64
	vUnsafe = unsafe.Pointer(vPtr)

	vCtxBackground = context.Background()
	ctx := context.WithValue(context.Background(), ctxKey("user"), "alice")
	ctx, vCtxCancel = context.WithDeadline(ctx, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	ctx = context.WithValue(ctx, ctxKey("request"), 77)
	vCtx = ctx

	vMutex.Lock()
	vRWMutex.RLock()
	vRWMutex.RLock()

	vIPv4 = net.IPv4(192, 168, 1, 20)
	vIPv6 = net.ParseIP("2001:db8::1")

	vErrNew = errors.New("plain error")
	vErrCustom = &MyErr{Code: 404, Msg: "not found"}
	vErrWrapped = fmt.Errorf("loading config: %w", vErrCustom)
	vErrJoined = errors.Join(vErrNew, vErrCustom)
}

// timesAcrossRange spans what a time.Time can hold: the zero time, Unix 0, both ends of
// int64 seconds (Go's arithmetic wraps there, and in zones whose offset pushes past them),
// negative years, leap days of every rule, both absolute epochs Go has used (go1.23's
// January 1, -292277022399 and go1.24's March 1, -292277022400) and the seconds before
// them, offsets that are not whole minutes, and random instants over the whole range.
func timesAcrossRange() []time.Time {
	east := time.FixedZone("E", 5*3600+30*60)
	west := time.FixedZone("W", -(4*3600 + 56*60 + 2))
	tiny := time.FixedZone("T", -30)
	epoch23 := time.Date(-292277022399, 1, 1, 0, 0, 0, 0, time.UTC)
	epoch24 := time.Date(-292277022400, 3, 1, 0, 0, 0, 0, time.UTC)
	ts := []time.Time{
		{},
		time.Unix(0, 0).UTC(),
		time.Unix(math.MinInt64, 0).UTC(),
		time.Unix(math.MaxInt64, 999999999).UTC(),
		time.Unix(math.MaxInt64, 0).In(east),
		time.Unix(math.MinInt64, 0).In(west),
		time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 12, 31, 23, 59, 59, 1, time.UTC),
		time.Date(0, 2, 29, 12, 0, 0, 0, time.UTC),
		time.Date(-4, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(-100, 2, 28, 0, 0, 0, 0, time.UTC).Add(24 * time.Hour),
		time.Date(1900, 2, 28, 0, 0, 0, 0, time.UTC).Add(24 * time.Hour),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 2, 28, 23, 59, 59, 999999999, time.UTC).Add(time.Nanosecond),
		time.Date(2400, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		epoch23,
		epoch23.Add(-time.Second),
		epoch24,
		epoch24.Add(-time.Second),
		time.Date(1970, 1, 1, 0, 0, 0, 0, east),
		time.Date(2024, 6, 1, 12, 0, 0, 0, west),
		time.Date(2024, 6, 1, 12, 0, 0, 0, tiny),
		time.Date(-5000, 6, 1, 12, 0, 0, 0, east),
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 100; i++ {
		ts = append(ts, time.Unix(int64(r.Uint64()), r.Int63n(1e9)).UTC())
	}
	const year = 31556952
	for i := 0; i < 40; i++ {
		t := time.Unix(r.Int63n(2e6*year)-1e6*year, r.Int63n(1e9))
		ts = append(ts, t.In([]*time.Location{time.UTC, east, west, tiny}[i%4]))
	}
	return append(ts, zonedTimes()...)
}

// zonedTimes are instants in named locations: before their first transition, inside their
// table, and past its end where Go applies the location's TZ rule (northern and southern
// rules, a rule with a negative time, a zone without DST), with the seconds on both sides
// of each change of offset in the years 2040 and 300000 (found by Go itself, hour by hour).
func zonedTimes() []time.Time {
	var ts []time.Time
	for _, name := range []string{"America/New_York", "Europe/Paris", "Australia/Sydney", "America/Nuuk", "Asia/Tehran"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			panic(err)
		}
		for _, y := range []int{-5000, 1800, 1990, 2010, 2024, 2040, 2100, 300000} {
			for _, m := range []time.Month{time.January, time.July} {
				ts = append(ts, time.Date(y, m, 15, 12, 0, 0, 0, time.UTC).In(loc))
			}
		}
		for _, y := range []int{2040, 300000} {
			t := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
			_, prev := t.In(loc).Zone()
			for end := t.AddDate(1, 0, 0); t.Before(end); t = t.Add(time.Hour) {
				if _, off := t.In(loc).Zone(); off != prev {
					ts = append(ts, t.Add(-time.Second).In(loc), t.In(loc))
					prev = off
				}
			}
		}
	}
	return ts
}

// expectations prints, as one JSON line, what the program itself says about the values
// with pretty forms (the oracle for those, as Delve shows only their fields).
func expectations() {
	errText := func(e error) string { return e.Error() }
	exp := map[string]any{
		"vTime":          vTime.Format(time.RFC3339Nano),
		"vTimeString":    vTime.String(),
		"vTimeUTC":       vTimeUTC.Format(time.RFC3339Nano),
		"vTimeZero":      vTimeZero.Format(time.RFC3339Nano),
		"vTimeFixed":     vTimeFixed.Format(time.RFC3339Nano),
		"vTimes":         formatAll(vTimes),
		"vDuration":      vDuration.String(),
		"vDurationNeg":   vDurationNeg.String(),
		"vDurationTiny":  vDurationTiny.String(),
		"vDurationBig":   vDurationBig.String(),
		"vIPv4":          vIPv4.String(),
		"vIPv6":          vIPv6.String(),
		"vErrNew":        errText(vErrNew),
		"vErrWrapped":    errText(vErrWrapped),
		"vErrJoined":     errText(vErrJoined),
		"vMutexLocked":   !vMutex.TryLock(),
		"vCtxDeadline":   "",
		"vCtxUser":       vCtx.Value(ctxKey("user")),
		"vCtxRequest":    vCtx.Value(ctxKey("request")),
		"vMapGrowingLen": len(vMapGrowing),
	}
	if d, ok := vCtx.Deadline(); ok {
		exp["vCtxDeadline"] = d.Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(exp)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
}

func formatAll(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Format(time.RFC3339Nano)
	}
	return out
}

// parkedPartial blocks on a receive holding variables only part of which stay live across
// it: afterwards only b's pointer and length (not its capacity) and err's type word
// (err != nil; not its data word) are used, so their locations there cover part of them.
// (The first receive, from a closed channel, makes the compiler spill them before the
// second: at a call, a variable's location is the one from before the call.)
//
//go:noinline
func parkedPartial(first, ch chan int, b []byte, err error) {
	<-first
	<-ch
	if err != nil {
		b[0] = byte(len(b))
	}
}

// parkedShort blocks on a receive holding b, whose capacity is never used: its location
// has pieces for the pointer and the length only (16 of its 24 bytes).
//
//go:noinline
func parkedShort(first, ch chan int) {
	b, err := json.Marshal("short")
	<-first
	<-ch
	if err == nil {
		fmt.Println(string(b))
	}
}

func main() {
	closed := make(chan int)
	close(closed)
	go parkedShort(closed, make(chan int))
	go parkedPartial(closed, make(chan int), make([]byte, 3, 8), errors.New("partial"))
	fill()
	expectations()
	fmt.Println("ready")
	os.Stdout.Sync()
	// Keep readers of vMapGrowing and friends from being optimised away; block forever.
	if len(os.Args) > 5 {
		fmt.Println(vMapGrowing, vMutexFree.TryLock(), vRWMutexFree.TryLock(), vIPNil, vErrNil, vFuncNil == nil,
			vChanNil, vSliceNil, vMapNil, vIfaceNil, vShapeNil, vPtrNil, vUnsafe, vFalse, vEmptyString, vTimeZero)
	}
	select {}
}

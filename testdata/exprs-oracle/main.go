// Command exprs-oracle is the Go oracle of the expression language. Its function park holds
// locals of many types; for a table of expressions over them it prints Go's own result
// (compiled into this program: `c(src, expr)` prints the static type and the value, `try`
// prints the run-time panic), then parks on a channel receive so that the test can
// evaluate the same sources with Periscope on the paused frame and compare. It prints a
// digest of its locals before parking and again once stdin closes (evaluation must not write
// target memory). Built with -gcflags=all=-N -l so that every local stays readable.
package main

import (
	"crypto/sha256"
	"fmt"
	"math"
	"os"
)

var (
	block  = make(chan struct{})
	parked = make(chan struct{})
	done   = make(chan struct{})
)

func main() {
	go park()
	<-parked
	fmt.Println("ready", os.Getpid())
	buf := make([]byte, 1)
	os.Stdin.Read(buf)
	close(block)
	<-done
}

//go:noinline
func keep(vs ...any) {}

func digest(vs ...any) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprintf("%#v", vs))))[:16]
}

func park() {
	b, bf := true, false
	i, i8, i16, i32, i64 := 7, int8(-100), int16(-300), int32(70000), int64(-1<<40)
	u, u8, u16, u32, u64, uptr := uint(5), uint8(200), uint16(65000), uint32(4000000000), uint64(1<<63+12345), uintptr(0x1000)
	n, big, neg, zero := 3, 70, -3, 0
	f32, f64, fneg, fbig := float32(1.1), 2.75, -7.9, 1e20
	nan, inf, nz := math.NaN(), math.Inf(1), math.Copysign(0, -1)
	c64, c128 := complex64(complex(1.5, -2)), complex(3, 4)
	s, empty, bad, name := "héllo, wörld", "", "a\xffb", Name("bob")
	r, by, surrogate, bigr, negr := 'é', byte('A'), rune(0xD800), rune(0x110000), rune(-1)
	bs, runes, ints, mb, is := []byte("bytes!"), []rune("añb"), []int{10, 20, 30, 40, 50}, Bytes("xyz"), IntSlice{1, 2, 3}
	var nilInts []int
	arr, a5, arr8 := [5]int{1, 2, 3, 4, 5}, Arr5{5, 4, 3, 2, 1}, [3]int8{-1, 0, 1}
	parr := &arr
	mi, mi8, cel := MyInt(42), MyInt8(-5), Celsius(36.6)
	pt, pt2, pt3, pp, anon := Point{1, 2}, Point{1, 2}, Point{2, 1}, Pt{1, 2}, struct{ X, Y int }{1, 2}
	p, p2 := &pt, &pt2
	p3 := p
	var nilp *Point
	k, k2, arrk := Key{1, "x"}, Key{2, "y"}, [2]int{1, 2}
	m := map[string]int{"a": 1, "b": 2}
	mk := map[Key]string{{1, "x"}: "one-x", {2, "y"}: "two-y"}
	mp := map[Point]int{{1, 2}: 12, {2, 1}: 21}
	mf := map[float64]string{1.5: "x", -2: "y"}
	mia := map[any]int{1: 1, "s": 2, Point{1, 2}: 3, Key{2, "y"}: 4}
	marr := map[[2]int]string{{1, 2}: "a"}
	mptr := map[*Point]string{p: "p"}
	mi8k := map[int8]string{-1: "m1"}
	fn := double
	var nilfn func(int) int
	var e error = &MyErr{7}
	e2 := e
	me := &MyErr{9}
	var e3 error = me
	var nile error
	var a, a2, a3, nila any = 42, "str", pt, nil
	var sh Shape = Sq{2}
	ch := make(chan int, 3)
	ch <- 1
	var nilch chan int
	ws := WithSlice{[]int{1}}
	var wsa any = ws
	outer := Outer{Inner{1.5, "in"}, [2]int8{3, 4}, p}
	outer2 := outer
	bl := Blank{A: 1, B: 2}
	fk := FKey{nan}
	huge := make([]struct{}, 1_000_000_000)
	bigbs := make([]byte, 1<<20)
	for j := range bigbs {
		bigbs[j] = 'a' + byte(j%26)
	}
	bigs := string(bigbs)
	before := digest(b, i, i8, u64, f32, s, bs, ints, arr, pt, m, mk, outer, bigbs[:64])

	// Arithmetic: integers wrap to their type, floats round to theirs.
	c("i + 3", i+3)
	c("i8 - 100", i8-100)
	c("i8 * 2", i8*2)
	c("u8 + 100", u8+100)
	c("u - 6", u-6)
	c("i64 * 1024", i64*1024)
	c("u64 / 3", u64/3)
	c("u64 + u64", u64+u64)
	c("i % 4", i%4)
	c("-i8", -i8)
	c("-i64", -i64)
	c("neg / 2", neg/2)
	c("neg % 2", neg%2)
	c("i16 / 7", i16/7)
	c("u16 * u16", u16*u16)
	c("i32 * i32", i32*i32)
	c("u32 + 500000000", u32+500000000)
	c("f64 * 2", f64*2)
	c("f64 / 0.5", f64/0.5)
	c("f64 / 3", f64/3)
	c("f32 * 3", f32*3)
	c("f32 + 1.1", f32+1.1)
	c("f32 / 3", f32/3)
	c("fneg + 1", fneg+1)
	c("fbig * fbig", fbig*fbig)
	c("fbig * fbig * fbig * fbig * fbig * fbig * fbig * fbig * fbig * fbig * fbig * fbig * fbig * fbig * fbig * fbig", fbig*fbig*fbig*fbig*fbig*fbig*fbig*fbig*fbig*fbig*fbig*fbig*fbig*fbig*fbig*fbig)
	c("f64 / 0", f64/0)
	c("-f64", -f64)
	c("nz", nz)
	c("-nz", -nz)
	c("cel * 2", cel*2)
	c("cel - 0.6", cel-0.6)
	c("mi * 2", mi*2)
	c("mi / 5", mi/5)
	c("mi8 * 30", mi8*30)
	c("i + 'a'", i+'a')
	c("r + 1", r+1)
	c("by + 1", by+1)
	c("u8 + 'a'", u8+'a')
	c("i + 1.0", i+1.0)
	c("i / 2.0", i/2.0)
	c("f64 + 1", f64+1)
	c("s + \"!\"", s+"!")
	c("name + \"!\"", name+"!")
	c("\"<\" + s + \">\"", "<"+s+">")
	c("c128 * c128", c128*c128)
	c("c64 + c64", c64+c64)
	c("c128 / 2", c128/2)
	c("c128 - c128", c128-c128)
	c("-c128", -c128)
	c("c64 * 2", c64*2)
	// Shifts and bit operators.
	c("i << n", i<<n)
	c("i << big", i<<big)
	c("i8 << 4", i8<<4)
	c("u8 << 1", u8<<1)
	c("neg >> 1", neg>>1)
	c("i64 >> 100", i64>>100)
	c("u32 >> 3", u32>>3)
	c("u64 >> 60", u64>>60)
	c("1 << n", 1<<n)
	c("1 << big", 1<<big)
	c("1 << n == 8", 1<<n == 8)
	c("i << u8", i<<u8)
	c("^u8", ^u8)
	c("^i", ^i)
	c("^mi", ^mi)
	c("^i8", ^i8)
	c("i & 3", i&3)
	c("i | 8", i|8)
	c("i ^ 5", i^5)
	c("i &^ 3", i&^3)
	c("u8 & 0xf0 | 0x0f", u8&0xf0|0x0f)
	c("i8 ^ -1", i8^-1)
	c("i + 2 << n", i+2<<n)
	c("i & 1 == 1", i&1 == 1)
	// Constants: exact, then converted.
	c("1 + 2", 1+2)
	c("7 / 2", 7/2)
	c("7.0 / 2", 7.0/2)
	c("-7 / 2", -7/2)
	c("-7 % 3", -7%3)
	c("0.1 + 0.2 == 0.3", 0.1+0.2 == 0.3)
	c("1 << 62", 1<<62)
	c("1 << 70 >> 68", 1<<70>>68)
	c("'a' + 1", 'a'+1)
	c("\"a\" + \"b\"", "a"+"b")
	c("^0", ^0)
	c("1e300 * 1e300 / 1e300", 1e300*1e300/1e300)
	c("1 / 3.0", 1/3.0)
	c("len(\"abc\")", len("abc"))
	c("\"abc\"[1]", "abc"[1])
	c("uint8(200) + 50", uint8(200)+50)
	c("int8(-128)", int8(-128))
	c("float32(0.1)", float32(0.1))
	c("MyInt(3) * mi", MyInt(3)*mi)
	// Comparisons.
	c("i == 7", i == 7)
	c("i8 < 0", i8 < 0)
	c("u64 > 1<<63", u64 > 1<<63)
	c("f64 >= 2.75", f64 >= 2.75)
	c("f32 == 1.1", f32 == 1.1)
	c("nan == nan", nan == nan)
	c("nan != nan", nan != nan)
	c("nan < 1", nan < 1)
	c("nz == 0", nz == 0)
	c("inf > fbig", inf > fbig)
	c("s < \"z\"", s < "z")
	c("s == \"héllo, wörld\"", s == "héllo, wörld")
	c("s >= s + \"\\x00\"", s >= s+"\x00")
	c("name == \"bob\"", name == "bob")
	c("b == true", b == true)
	c("b != bf", b != bf)
	c("!b || bf", !b || bf)
	c("pt == pt2", pt == pt2)
	c("pt == pt3", pt == pt3)
	c("pt == anon", pt == anon)
	c("pp == anon", pp == anon)
	c("p == p2", p == p2)
	c("p == p3", p == p3)
	c("*p == *p2", *p == *p2)
	c("p != nil", p != nil)
	c("nilp == nil", nilp == nil)
	c("nilp == p", nilp == p)
	c("ints == nil", ints == nil)
	c("nilInts == nil", nilInts == nil)
	c("m != nil", m != nil)
	c("fn != nil", fn != nil)
	c("nilfn == nil", nilfn == nil)
	c("e == nil", e == nil)
	c("e == e2", e == e2)
	c("nile == nil", nile == nil)
	c("e == me", e == me)
	c("e3 == me", e3 == me)
	c("me == e3", me == e3)
	c("error(me)", error(me))
	c("error(me) == e3", error(me) == e3)
	c("any(pt) == a3", any(pt) == a3)
	c("any(e) == any(e2)", any(e) == any(e2))
	c("any(mk[k])", any(mk[k]))
	c("a == 42", a == 42)
	c("a == 42.0", a == 42.0)
	c("a == a2", a == a2)
	c("a2 == \"str\"", a2 == "str")
	c("a3 == pt", a3 == pt)
	c("a3 == pt3", a3 == pt3)
	c("nila == nil", nila == nil)
	c("a == i", a == i)
	c("a == mi", a == mi)
	c("arr == *parr", arr == *parr)
	c("arr == a5", arr == a5)
	c("a5 == a5", a5 == a5)
	c("arr8 == arr8", arr8 == arr8)
	c("outer == outer2", outer == outer2)
	c("bl == bl", bl == bl)
	c("fk == fk", fk == fk)
	c("k == k2", k == k2)
	c("ch != nil", ch != nil)
	c("ch == nilch", ch == nilch)
	c("nilch == nil", nilch == nil)
	c("c128 == c128", c128 == c128)
	c("c64 != 0", c64 != 0)
	c("c128 == 3", c128 == 3)
	c("s[1] == 'h'", s[1] == 'h')
	c("len(s) > 3 && s[0] == 'h'", len(s) > 3 && s[0] == 'h')
	// Map lookups, struct and other keys.
	c("m[\"b\"]", m["b"])
	c("mk[k]", mk[k])
	c("mk[k2]", mk[k2])
	c("mp[pt]", mp[pt])
	c("mp[pt3]", mp[pt3])
	c("mp[*p]", mp[*p])
	c("mf[1.5]", mf[1.5])
	c("mf[-2]", mf[-2])
	c("mia[1]", mia[1])
	c("mia[\"s\"]", mia["s"])
	c("mia[pt]", mia[pt])
	c("mia[k2]", mia[k2])
	c("mia[a3]", mia[a3])
	c("marr[arrk]", marr[arrk])
	c("mptr[p]", mptr[p])
	c("mi8k[-1]", mi8k[-1])
	// Indexing.
	c("ints[2]", ints[2])
	c("arr[4]", arr[4])
	c("parr[1]", parr[1])
	c("s[1]", s[1])
	c("bs[0]", bs[0])
	c("runes[1]", runes[1])
	c("mb[1]", mb[1])
	c("a5[0]", a5[0])
	c("ints[n]", ints[n])
	c("outer.Arr[1]", outer.Arr[1])
	// Slicing.
	c("ints[1:3]", ints[1:3])
	c("ints[:2]", ints[:2])
	c("ints[3:]", ints[3:])
	c("ints[:]", ints[:])
	c("ints[1:2:4]", ints[1:2:4])
	c("cap(ints[1:2:4])", cap(ints[1:2:4]))
	c("len(ints[1:])", len(ints[1:]))
	c("cap(ints[2:])", cap(ints[2:]))
	c("ints[1:3][1]", ints[1:3][1])
	c("ints[1:2][:3]", ints[1:2][:3])
	c("ints[n:]", ints[n:])
	c("ints[:n]", ints[:n])
	c("nilInts[:]", nilInts[:])
	c("nilInts[0:0]", nilInts[0:0])
	c("arr[1:4]", arr[1:4])
	c("arr[:]", arr[:])
	c("arr[1:3:4]", arr[1:3:4])
	c("cap(arr[1:3])", cap(arr[1:3]))
	c("parr[2:]", parr[2:])
	c("a5[3:]", a5[3:])
	c("s[1:3]", s[1:3])
	c("s[7:]", s[7:])
	c("s[:0]", s[:0])
	c("\"hello\"[1:3]", "hello"[1:3])
	c("name[1:]", name[1:])
	c("bs[2:4]", bs[2:4])
	c("mb[1:]", mb[1:])
	c("is[:2]", is[:2])
	c("len(s[2:])", len(s[2:]))
	c("empty[:]", empty[:])
	c("huge[10:]", huge[10:])
	c("len(huge)", len(huge))
	c("cap(huge[5:7])", cap(huge[5:7]))
	c("bigbs[100:]", bigbs[100:])
	c("bigs[1:]", bigs[1:])
	// Conversions.
	c("int(i8)", int(i8))
	c("int8(i)", int8(i))
	c("int8(i16)", int8(i16))
	c("uint8(i)", uint8(i))
	c("uint8(i16)", uint8(i16))
	c("uint(neg)", uint(neg))
	c("int64(u64)", int64(u64))
	c("uint32(i64)", uint32(i64))
	c("uint16(i32)", uint16(i32))
	c("float64(i)", float64(i))
	c("float32(i32)", float32(i32))
	c("float64(u64)", float64(u64))
	c("float32(u64)", float32(u64))
	c("float32(i64 + 1)", float32(i64+1))
	c("int(f64)", int(f64))
	c("int(fneg)", int(fneg))
	c("uint8(f64)", uint8(f64))
	c("int64(fbig / 1e5)", int64(fbig/1e5))
	c("float32(f64)", float32(f64))
	c("float32(fneg)", float32(fneg))
	c("float64(f32)", float64(f32))
	c("int(r)", int(r))
	c("string(r)", string(r))
	c("string(by)", string(by))
	c("string(surrogate)", string(surrogate))
	c("string(bigr)", string(bigr))
	c("string(negr)", string(negr))
	c("string(rune(0x1F600))", string(rune(0x1F600)))
	c("string(bs)", string(bs))
	c("string(runes)", string(runes))
	c("string(bs[1:3])", string(bs[1:3]))
	c("[]byte(s)", []byte(s))
	c("[]rune(s)", []rune(s))
	c("[]byte(bad)", []byte(bad))
	c("[]rune(bad)", []rune(bad))
	c("[]byte(name)", []byte(name))
	c("[]byte(\"hi\")", []byte("hi"))
	c("string(mb)", string(mb))
	c("Bytes(bs)", Bytes(bs))
	c("[]byte(mb)", []byte(mb))
	c("Name(s)", Name(s))
	c("string(name)", string(name))
	c("MyInt(i)", MyInt(i))
	c("int(mi)", int(mi))
	c("MyInt8(i8)", MyInt8(i8))
	c("int8(mi8)", int8(mi8))
	c("Celsius(f64)", Celsius(f64))
	c("float64(cel)", float64(cel))
	c("int(cel)", int(cel))
	c("Point(pp)", Point(pp))
	c("Pt(pt)", Pt(pt))
	c("Point(anon)", Point(anon))
	c("IntSlice(ints)", IntSlice(ints))
	c("[]int(is)", []int(is))
	c("(*Point)(p)", (*Point)(p))
	c("(*Pt)(p)", (*Pt)(p))
	c("[3]int(ints)", [3]int(ints))
	c("(*[2]int)(ints)", (*[2]int)(ints))
	c("Arr5(arr)", Arr5(arr))
	c("complex128(c64)", complex128(c64))
	c("complex64(c128)", complex64(c128))
	c("float64(1<<62)", float64(1<<62))
	c("int(2.0)", int(2.0))
	c("uintptr(i)", uintptr(i))
	c("int(uptr)", int(uptr))
	c("len(string(bs))", len(string(bs)))
	c("len([]rune(s))", len([]rune(s)))
	c("[]rune(s)[1]", []rune(s)[1])
	c("string(bigbs)", string(bigbs))
	c("[]byte(bigs)[5:10]", []byte(bigs)[5:10])
	c("len(bigs)", len(bigs))
	c("string(i)", string(i))
	c("any(i)", any(i))
	// Builtins.
	c("len(s)", len(s))
	c("len(arr)", len(arr))
	c("len(parr)", len(parr))
	c("cap(parr)", cap(parr))
	c("len(m)", len(m))
	c("len(mk)", len(mk))
	c("cap(ch)", cap(ch))
	c("len(ch)", len(ch))
	c("len(name)", len(name))
	c("len(nilInts)", len(nilInts))
	c("real(c64)", real(c64))
	c("imag(c128)", imag(c128))
	c("real(c128) * imag(c128)", real(c128)*imag(c128))
	// Values of the other kinds, whole.
	c("pt", pt)
	c("outer", outer)
	c("p", p)
	c("e", e)
	c("a3", a3)
	c("sh", sh)
	c("fn", fn)
	c("mk", mk)
	c("mp", mp)
	c("bl", bl)
	c("empty", empty)
	c("bad", bad)

	// Run-time errors.
	try("ints[n+10]", func() any { return ints[n+10] })
	try("arr[n+5]", func() any { return arr[n+5] })
	try("s[n*10]", func() any { return s[n*10] })
	try("ints[n:1]", func() any { return ints[n:1] })
	try("ints[:n+10]", func() any { return ints[:n+10] })
	try("ints[1:2:n+10]", func() any { return ints[1:2:n+10] })
	try("s[n+20:]", func() any { return s[n+20:] })
	try("arr[n:1]", func() any { return arr[n:1] })
	try("*nilp", func() any { return *nilp })
	try("nilp.X", func() any { return nilp.X })
	try("i / zero", func() any { return i / zero })
	try("i % zero", func() any { return i % zero })
	try("i << neg", func() any { return i << neg })
	try("a.(string)", func() any { return a.(string) })
	try("nila.(int)", func() any { return nila.(int) })
	try("[6]int(ints)", func() any { return [6]int(ints) })
	try("wsa == wsa", func() any { return wsa == wsa })

	fmt.Println("digest", before)
	close(parked)
	<-block
	fmt.Println("digest", digest(b, i, i8, u64, f32, s, bs, ints, arr, pt, m, mk, outer, bigbs[:64]))
	// Every local stays live until here: else the collector may free what escaped to the heap
	// once its last use is behind, and the stack slot would point at reused memory.
	keep(b, bf, i, i8, i16, i32, i64, u, u8, u16, u32, u64, uptr, n, big, neg, zero, f32, f64, fneg, fbig,
		nan, inf, nz, c64, c128, s, empty, bad, name, r, by, surrogate, bigr, negr, bs, runes, ints, mb, is,
		nilInts, arr, a5, arr8, parr, mi, mi8, cel, pt, pt2, pt3, pp, anon, p, p2, p3, nilp, k, k2, arrk, m,
		mk, mp, mf, mia, marr, mptr, mi8k, fn, nilfn, e, e2, me, e3, nile, a, a2, a3, nila, sh, ch, nilch, ws, wsa,
		outer, outer2, bl, fk, huge, bigbs, bigs)
	close(done)
}

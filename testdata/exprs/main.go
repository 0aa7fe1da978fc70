// Command exprs holds package variables and a parked goroutine with locals of many types,
// for the expression language tests. It prints "ready" once park is blocked and
// then waits for stdin to close.
package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	autil "periscope.test/testdata/exprs/sub/a/util"
	butil "periscope.test/testdata/exprs/sub/b/util"
)

// Addr is a host and port.
type Addr struct {
	Host string
	Port int
}

// Base is embedded in Server: its fields are promoted.
type Base struct {
	ID   int
	Tags []string
}

// Server has an embedded struct, a pointer field and scalars.
type Server struct {
	Base
	Name    string
	Addr    *Addr
	Weight  float64
	Enabled bool
}

// User is stored by value in a map.
type User struct {
	Name  string
	Age   int
	Email string
}

// Config is the root of the package variable graph.
type Config struct {
	Servers []*Server
	ByName  map[string]*Server
	Limits  [3]int
	Owner   *User
	Mode    byte
}

// MyErr is an error with a code.
type MyErr struct {
	Code int
	Msg  string
}

func (e *MyErr) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Msg) }

// Pair is a generic struct.
type Pair[K comparable, V any] struct {
	Key K
	Val V
}

// Shape is an interface with a method.
type Shape interface{ Area() float64 }

// Square implements Shape by value.
type Square struct{ Side float64 }

// Area is the square's area.
func (s Square) Area() float64 { return s.Side * s.Side }

var (
	cfg = Config{
		Servers: []*Server{
			{Base: Base{ID: 1, Tags: []string{"a", "b"}}, Name: "alpha", Addr: &Addr{"10.0.0.1", 80}, Weight: 1.5, Enabled: true},
			{Base: Base{ID: 2}, Name: "beta", Addr: &Addr{"10.0.0.2", 8080}, Weight: 0.25},
		},
		Limits: [3]int{5, 10, 15},
		Owner:  &User{Name: "root", Age: 99, Email: "root@example.com"},
		Mode:   'w',
	}
	cfgPtr        = &cfg
	users         = map[string]User{"alice": {"Alice", 31, "a@example.com"}, "bob": {"Bob", 42, "b@example.com"}}
	byID          = map[int]*User{42: {"Forty-Two", 42, ""}, 7: {"Seven", 7, ""}}
	flags         = map[bool]string{true: "yes", false: "no"}
	counts        = map[int64]int{-1: 100, 1 << 40: 200}
	anyErr  error = &MyErr{Code: 404, Msg: "not found"}
	pathErr error = &fs.PathError{Op: "open", Path: "/nope", Err: errors.New("no such file")}
	nilErr  error
	nilUser *User
	anyVal  any   = 42
	anyStr  any   = "hello"
	anyUser any   = User{"Boxed", 5, ""}
	shape   Shape = Square{Side: 3}
	greet         = "héllo, world"
	nums          = []int{10, 20, 30}
	emptyS  []int
	arr            = [4]int16{1, -2, 3, -4}
	ch             = make(chan int, 5)
	pair           = Pair[string, int]{"k", 7}
	pi             = 3.25
	bigU    uint64 = 1<<63 + 5
	neg     int64  = -9000000000
	r       rune   = 'ü'
	tiny    int8   = -128
	ok             = true
	block          = make(chan int)
	parked         = make(chan struct{})
)

// park blocks on a channel receive with interesting parameters and locals live.
//
//go:noinline
func park(srv *Server, u User, items []string, m map[string]int, err error, n int) int {
	local := srv.Name + "!"
	count := len(items) + n
	pk := Pair[int, string]{1, "one"}
	total := 0
	for _, v := range m {
		total += v
	}
	close(parked)
	<-block
	fmt.Println(local, count, pk.Key, pk.Val, total, u.Name, u.Age, err, srv.Addr.Port, items)
	return count + total
}

func main() {
	ch <- 1
	ch <- 2
	fmt.Fprintln(os.Stderr, cfg.Mode, cfgPtr.Owner.Name, len(users), len(byID), flags[true], counts[-1],
		anyErr, pathErr, nilErr, nilUser, anyVal, anyStr, anyUser, shape.Area(), greet, nums, emptyS, arr,
		len(ch), pair, pi, bigU, neg, r, tiny, ok, base64.StdEncoding.EncodeToString([]byte("x")),
		autil.Touch(), butil.Touch(), autil.Name, butil.Name, butil.Only)
	go func() {
		park(cfg.Servers[0], users["bob"], []string{"p", "q", "r"}, map[string]int{"x": 1, "y": 2}, anyErr, 4)
	}()
	<-parked
	runtime.Gosched()
	fmt.Println("ready")
	buf := make([]byte, 1)
	os.Stdin.Read(buf)
}

// Command secrets holds secrets in a live goroutine frame, for the redaction tests: a struct
// with a Password field, a local apiToken, an http.Header with Authorization, a value of a
// user's secret type and a field a user's name rule covers; and a context value under a key
// that names a secret; and pprof labels on that goroutine, one under a key the default rules
// redact (session_token), one a user's name rule does (customer_ssn). Every secret is built at run
// time from os.Args[1] (a per-run nonce), so its bytes exist only in this process's memory.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// Secret is a type a user names in the spec's redaction.types.
type Secret struct {
	Value string
}

// ctxKey is a context key type; its value "authToken" names a secret.
type ctxKey string

// reqCtx holds a context value under a key that names a secret (read as main.reqCtx).
var reqCtx context.Context

// Account has a field the default rules redact (Password), one a user's rule does (SSN),
// and ones that stay visible.
type Account struct {
	User     string
	Password string
	SSN      string
	Key      Secret
	Visits   int
}

//go:noinline
func serve(acct *Account, header http.Header, apiToken string, note string, which string) {
	fmt.Println("ready")
	for {
		time.Sleep(time.Hour)
		runtime.KeepAlive(acct)
		runtime.KeepAlive(header)
		runtime.KeepAlive(apiToken)
		runtime.KeepAlive(note)
		runtime.KeepAlive(which)
	}
}

func main() {
	nonce := "nonce"
	if len(os.Args) > 1 {
		nonce = os.Args[1]
	}
	acct := &Account{
		User:     "visible-user-" + nonce,
		Password: "pw-SECRET-" + nonce,
		SSN:      "ssn-SECRET-" + nonce,
		Key:      Secret{Value: "typed-SECRET-" + nonce},
		Visits:   7,
	}
	header := http.Header{}
	header.Set("Authorization", "Bearer authz-SECRET-"+nonce)
	header.Set("Accept", "visible-accept-"+nonce)
	apiToken := "tok-SECRET-" + nonce
	// which names the Authorization entry from a variable, as a spec's h[which] reads it.
	ctx := context.WithValue(context.Background(), ctxKey("authToken"), "ctx-SECRET-"+nonce)
	reqCtx = context.WithValue(ctx, ctxKey("requestID"), "visible-request-"+nonce)
	labels := pprof.Labels(
		"session_token", "label-tok-SECRET-"+nonce,
		"customer_ssn", "label-ssn-SECRET-"+nonce,
		"tenant", "visible-tenant-"+nonce,
	)
	// serve inherits the labels of the goroutine that starts it.
	pprof.Do(context.Background(), labels, func(context.Context) {
		go serve(acct, header, apiToken, "visible-note-"+nonce, "Authorization")
	})
	select {}
}

package main

// Go's own results rendered in Periscope's JSON forms (docs/values.md), so that the test can
// compare value by value: ints beyond ±2^53-1 as decimal strings, floats as numbers or
// "NaN"/"+Inf"/"-Inf", invalid UTF-8 bytes as \xNN, pointers as {address, value}, maps with
// string keys as objects and other maps as [{key, value}], interfaces as {type, value},
// and the cut markers for strings over 512 bytes and lists over 64 elements.

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strconv"
	"unicode/utf8"
)

const (
	maxString   = 512
	maxElements = 64
	maxInt53    = 1<<53 - 1
)

// c prints one case: its source, the static type of the expression and its value.
func c[T any](src string, v T) {
	t := reflect.TypeOf((*T)(nil)).Elem()
	out, err := json.Marshal(map[string]any{"src": src, "type": t.String(), "value": render(reflect.ValueOf(&v).Elem())})
	if err != nil {
		panic(err)
	}
	fmt.Printf("CASE %s\n", out)
}

// try prints the run-time panic an expression causes (the cases whose evaluation fails).
func try(src string, f func() any) {
	defer func() {
		r := recover()
		msg := fmt.Sprint(r)
		if e, ok := r.(error); ok {
			msg = e.Error()
		}
		out, _ := json.Marshal(map[string]any{"src": src, "panic": msg})
		fmt.Printf("CASE %s\n", out)
	}()
	f()
}

func render(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := v.Int()
		if n > maxInt53 || n < -maxInt53 {
			return strconv.FormatInt(n, 10)
		}
		return n
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n := v.Uint()
		if n > maxInt53 {
			return strconv.FormatUint(n, 10)
		}
		return n
	case reflect.Float32:
		return float(v.Float(), 32)
	case reflect.Float64:
		return float(v.Float(), 64)
	case reflect.Complex64, reflect.Complex128:
		bits := 64
		if v.Kind() == reflect.Complex64 {
			bits = 32
		}
		return map[string]any{"real": float(real(v.Complex()), bits), "imag": float(imag(v.Complex()), bits)}
	case reflect.String:
		s := v.String()
		if len(s) > maxString {
			return map[string]any{"…": "truncated", "string": text(s[:maxString], false), "len": len(s)}
		}
		return text(s, true)
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		return list(v, v.Cap())
	case reflect.Array:
		return list(v, -1)
	case reflect.Struct:
		out := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.Name != "_" {
				out[f.Name] = render(v.Field(i))
			}
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		out := map[string]any{"address": fmt.Sprintf("0x%x", v.Pointer())}
		if v.Type().Elem().Size() > 0 {
			out["value"] = render(v.Elem())
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		if v.Type().Key().Kind() == reflect.String {
			out := map[string]any{}
			for it := v.MapRange(); it.Next(); {
				out[it.Key().String()] = render(it.Value())
			}
			return out
		}
		out := []any{}
		for it := v.MapRange(); it.Next(); {
			out = append(out, map[string]any{"key": render(it.Key()), "value": render(it.Value())})
		}
		return out
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return map[string]any{"type": v.Elem().Type().String(), "value": render(v.Elem())}
	case reflect.Func:
		if v.IsNil() {
			return nil
		}
		return runtime.FuncForPC(v.Pointer()).Name()
	}
	panic("no rendering for kind " + v.Kind().String())
}

func list(v reflect.Value, cap int) any {
	out := []any{}
	for i := 0; i < v.Len() && i < maxElements; i++ {
		out = append(out, render(v.Index(i)))
	}
	if v.Len() > maxElements {
		m := map[string]any{"…": "truncated", "len": v.Len(), "shown": maxElements}
		if cap >= 0 {
			m["cap"] = cap
		}
		out = append(out, m)
	}
	return out
}

func float(f float64, bits int) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, bits))
}

// text is a Go string as Periscope renders it: valid UTF-8 as is, other bytes as \xNN; a
// cut prefix drops a sequence split at its end.
func text(s string, complete bool) string {
	out := []byte{}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			if !complete && len(s)-i < 4 && s[i] >= 0xc2 {
				break
			}
			out = append(out, fmt.Sprintf(`\x%02x`, s[i])...)
		} else {
			out = append(out, s[i:i+n]...)
		}
		i += n
	}
	return string(out)
}

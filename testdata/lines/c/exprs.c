/* Fixture for DWARF location expressions and CFI beyond what Go emits: gcc -O2 -g makes
   entry values, stack values, implicit values, register-relative and composite locations;
   -fno-omit-frame-pointer and alloca make CFA rules based on rbp. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pair { long a; double b; };
static volatile long sink;
long global_counter = 42;
static __thread long tls_counter;

__attribute__((noinline)) static long callee(long x, long y) { sink = x; return x * 3 + y; }

__attribute__((noinline)) long mix(long a, long b, int c, double d) {
  long t = a * 7 + b;
  long u = t ^ (long)c;
  struct pair p = { u, d };
  long v = callee(p.a, b);
  sink = v + (long)p.b;
  unsigned char small = (unsigned char)(a & 0xff);
  sink = small;
  return v - a;
}

__attribute__((noinline)) long framed(int n, const char *s) {
  char *buf = __builtin_alloca((size_t)n + 16);
  memcpy(buf, s, (size_t)n);
  long acc = 0;
  for (int i = 0; i < n; i++) acc += buf[i] * (i + 1);
  tls_counter += acc;
  return acc + global_counter;
}

__attribute__((noinline)) int64_t bits(uint64_t x, int k) {
  uint64_t lo = x & 0xffff;
  uint64_t hi = x >> 48;
  int64_t s = (int64_t)x >> k;
  sink = (long)(lo + hi);
  return s + (int64_t)(lo * hi);
}

int main(int argc, char **argv) {
  long r = mix(argc, argc + 1, argc * 2, argc / 3.0);
  r += framed(argc, argv[0]);
  r += bits((uint64_t)r * 0x9e3779b97f4a7c15ull, argc);
  return (int)(r & 1);
}

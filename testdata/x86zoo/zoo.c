// C code for the decoder's corpus: loops gcc vectorizes, a switch (jump table), calls
// through pointers and floating point, so the gcc part holds more than a few MOVs.
#include <stdlib.h>
#include <string.h>
#include "zoo.h"

static long table[64];

static long pick(long v) {
	switch (v & 7) {
	case 0: return v * 3;
	case 1: return v ^ 0x5555;
	case 2: return v >> 3;
	case 3: return v + 1000000007L;
	case 4: return -v;
	case 5: return v * v;
	case 6: return v / 7;
	default: return v;
	}
}

static long (*volatile op)(long) = pick;

long zoo_sum(long n) {
	long s = 0;
	for (int i = 0; i < 64; i++) table[i] = op(i + n);
	for (int i = 0; i < 64; i++) s += table[i] * (i | 1);
	char buf[128];
	memset(buf, (int)n, sizeof buf);
	for (size_t i = 0; i < sizeof buf; i++) s += buf[i];
	return s;
}

double zoo_scale(double x) {
	double acc = 0;
	for (int i = 1; i < 32; i++) acc += x / i;
	return acc;
}

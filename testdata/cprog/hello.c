/* A C program: Periscope must say it is not a Go program. */
#include <stdio.h>
int main(void) { puts("hello from C"); return 0; }

// Command x86zoo is a corpus for the x86-64 instruction decoder: Go code that pulls in the
// standard library's assembly (SHA-256 with SHA-NI/AVX2, AES-GCM with AES-NI and PCLMULQDQ,
// CRC-32 with SSE4.2, math/big's ADX/BMI2 arithmetic, bytes' AVX2 and AVX-512 kernels) and
// C code compiled by gcc through cgo (see zoo.c), whose boundaries binutils' objdump checks.
package main

/*
#cgo CFLAGS: -O2
#include "zoo.h"
*/
import "C"

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash/crc32"
	"math/big"
	"os"
)

func main() {
	key := make([]byte, 32)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	sealed := gcm.Seal(nil, make([]byte, gcm.NonceSize()), []byte(os.Args[0]), nil)
	a := new(big.Int).Exp(big.NewInt(7), big.NewInt(300), nil)
	fmt.Println(sha256.Sum256(sealed), sha512.Sum512(sealed), crc32.ChecksumIEEE(sealed),
		crc32.Checksum(sealed, crc32.MakeTable(crc32.Castagnoli)), a.BitLen(),
		bytes.Index(sealed, []byte{1, 2}), C.zoo_sum(C.long(len(sealed))), C.zoo_scale(2.5))
}

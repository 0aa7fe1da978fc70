package main

// helperDouble lives in a second file, so inlined frames change file too.
func helperDouble(a int) int {
	return helperLeaf(a * 2)
}

func helperLeaf(a int) int {
	return capture("helper") + a
}

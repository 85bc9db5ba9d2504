// Command tiny is a small program the installer tests package in place of
// the real binaries (so they stay fast).
package main

func main() {}

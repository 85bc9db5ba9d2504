// Package crashtest builds a program that crashes for real, for the tests
// that see a crash through the OS's own records (agent/health and the
// end-to-end tests).
package crashtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// source faults for real: it puts SIGSEGV back to the default action (the
// Go runtime handles it otherwise) and writes through a nil pointer, so
// the kernel kills it and, as it does for any unhandled fault, logs
// "segfault at" in its own log. Linux only (rt_sigaction).
const source = `package main

import (
	"syscall"
	"unsafe"
)

func main() {
	var act [8]uint64 // struct sigaction, all zero: SIG_DFL, no flags, empty mask
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGSEGV), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); e != 0 {
		panic(e)
	}
	var p *int
	*p = 1
}
`

// Build compiles the crasher as name (the application name the records
// will carry) in a temporary directory and returns its path. It skips the
// test when no go toolchain is at hand.
func Build(t testing.TB, name string) string {
	t.Helper()
	goBin := ""
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if st, err := os.Stat(filepath.Join(d, "go")); err == nil && st.Mode().IsRegular() {
			goBin = filepath.Join(d, "go")
			break
		}
	}
	if goBin == "" {
		t.Skip("no go toolchain on PATH to build the crasher")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(source), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module crasher\n\ngo 1.22\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	// execx.Run: the project starts programs only through agent/execx.
	res, err := execx.Run(context.Background(), execx.Cmd{Argv: []string{goBin, "build", "-o", bin, "."}, Dir: dir,
		Env: append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS="), Timeout: 10 * time.Minute})
	if err != nil {
		t.Fatalf("build the crasher: %v\n%s", err, res.Output)
	}
	return bin
}

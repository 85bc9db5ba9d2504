package e2e

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx": the test makes a database
)

// runIn runs a binary in dir and returns stdout, stderr and the exit code.
func runIn(t *testing.T, dir, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	return stdout.String(), stderr.String(), code
}

// entries lists what dir holds ("" when it does not exist).
func entries(dir string) []string {
	es, _ := os.ReadDir(dir)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// --db takes a PostgreSQL URL and nothing else: anything else is refused
// with what it accepts, before anything is created or overwritten.
func TestDBFlagTakesOnlyPostgres(t *testing.T) {
	h := startHub(t)
	h.proc.stop()
	admin, err := os.ReadFile(filepath.Join(h.data, "initial-admin.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cwd := t.TempDir()
	for _, db := range []string{"garbage", "mysql://root:secret@127.0.0.1:3306/tierline", "sqlite:///tmp/x.db", "postgres://"} {
		for _, args := range [][]string{
			{"serve", "--data", h.data, "--db", db, "--listen", freePort(t)},
			{"token", "create", "--data", h.data, "--db", db},
			{"user", "list", "--data", h.data, "--db", db},
		} {
			_, errOut, code := runIn(t, cwd, "tierline-hub", args...)
			if code == 0 || !strings.Contains(errOut, "give a PostgreSQL URL (postgres://") {
				t.Errorf("%s: exit %d, want a refusal saying what --db takes:\n%s", strings.Join(args, " "), code, errOut)
			}
			if strings.Contains(errOut, "secret") {
				t.Errorf("%s: the refusal shows the password:\n%s", strings.Join(args, " "), errOut)
			}
		}
	}
	if got := entries(cwd); len(got) != 0 {
		t.Errorf("the working directory gained %v", got)
	}
	if now, _ := os.ReadFile(filepath.Join(h.data, "initial-admin.txt")); !bytes.Equal(now, admin) {
		t.Errorf("initial-admin.txt changed from %q to %q", admin, now)
	}
	h.start() // the hub's own data still serves
}

// Admin verbs on a folder that is not a hub's create nothing there and
// say so.
func TestAdminVerbsOnAFolderThatIsNotAHub(t *testing.T) {
	empty := t.TempDir()
	missing := filepath.Join(t.TempDir(), "typo")
	for _, dir := range []string{empty, missing} {
		for _, args := range [][]string{
			{"token", "create", "--data", dir, "--url", "https://127.0.0.1:8443"},
			{"token", "list", "--data", dir},
			{"apitoken", "create", "--data", dir, "--user", "admin"},
			{"device", "list", "--data", dir},
		} {
			out, errOut, code := run(t, "", "tierline-hub", args...)
			if code == 0 || !strings.Contains(errOut, "is not a hub's data directory") {
				t.Errorf("%s: exit %d, want it to say the folder is not a hub's\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
			}
		}
		if got := entries(dir); len(got) != 0 {
			t.Errorf("%s gained %v", dir, got)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("%s was created", missing)
	}
}

// ptyReader collects what a program writes to its terminal.
type ptyReader struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *ptyReader) text() string { r.mu.Lock(); defer r.mu.Unlock(); return r.buf.String() }

// `user add` in a terminal asks for the password twice without echoing it.
func TestUserAddAsksOnATerminal(t *testing.T) {
	h := startHub(t)
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer master.Close()
	cmd := exec.Command(filepath.Join(binDir, "tierline-hub"), "user", "add", "--data", h.data, "--name", "alice", "--role", "tier1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var out ptyReader
	go func() {
		r := bufio.NewReader(master)
		b := make([]byte, 256)
		for {
			n, err := r.Read(b)
			out.mu.Lock()
			out.buf.Write(b[:n])
			out.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	const secret = "correct horse battery"
	eventually(t, "the password prompt", 30*time.Second, func() bool { return strings.Contains(out.text(), "Password for alice") })
	io.WriteString(master, secret+"\r")
	eventually(t, "the second prompt", 30*time.Second, func() bool { return strings.Contains(out.text(), "Again:") })
	io.WriteString(master, secret+"\r")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("user add: %v\n%s", err, out.text())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("user add did not finish:\n%s", out.text())
	}
	eventually(t, "the last words", 10*time.Second, func() bool { return strings.Contains(out.text(), "user alice added") })
	if strings.Contains(out.text(), secret) {
		t.Fatalf("the terminal echoed the password:\n%s", out.text())
	}
	if list := h.cli("user", "list"); !strings.Contains(list, "alice") {
		t.Fatalf("alice not listed:\n%s", list)
	}
	// The password works: the console's login takes it.
	if code := h.login("alice", secret); code != http.StatusSeeOther {
		t.Fatalf("login with the typed password: %d", code)
	}
}

// login posts the console's login form and returns the status (303 when
// the password is right).
func (h *hub) login(name, password string) int {
	h.t.Helper()
	form := url.Values{"name": {name}, "password": {password}}
	req, _ := http.NewRequest("POST", h.url()+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.url())
	cl := *h.client
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := cl.Do(req)
	if err != nil {
		h.t.Fatalf("POST /login: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A data directory that served SQLite, started on a fresh PostgreSQL
// database, keeps its initial-admin.txt (the only record of the SQLite
// database's admin) and prints the new admin's password instead.
func TestFirstStartOnPostgresKeepsInitialAdminFile(t *testing.T) {
	server := os.Getenv("TIERLINE_TEST_POSTGRES")
	if server == "" {
		t.Skip("TIERLINE_TEST_POSTGRES is not set")
	}
	h := startHub(t)
	h.proc.stop()
	path := filepath.Join(h.data, "initial-admin.txt")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db := freshPostgres(t, server)
	p := start(t, "tierline-hub", "serve", "--data", h.data, "--db", db, "--listen", freePort(t))
	eventually(t, "the hub on PostgreSQL listening", 60*time.Second, func() bool { return strings.Contains(p.output(), "listening on") })
	if !strings.Contains(p.output(), "first admin:     name admin, password ") || !strings.Contains(p.output(), "not saved: "+path+" holds another database's first admin") {
		t.Fatalf("the first start on PostgreSQL does not say where the new admin's password is:\n%s", p.output())
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, before) {
		t.Fatalf("initial-admin.txt was overwritten: %q, was %q", now, before)
	}
}

// freshPostgres creates a database on the server and returns its URL; it
// is dropped when the test ends.
func freshPostgres(t *testing.T, server string) string {
	t.Helper()
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("tl_e2e_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Skipf("cannot create a PostgreSQL database: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Package mailtest prepares, for tests, a private Dovecot IMAP server
// (Debian's dovecot-imapd): its configuration, a passwd-file user, a
// maildir and a TLS certificate for 127.0.0.1, in a directory of the
// test's own. The test starts the process itself (tests may run programs;
// this package may not), with Bin and Args, and delivers mail by writing
// it into the maildir as a mail server's local delivery does.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Bin is Debian's dovecot binary.
const Bin = "/usr/sbin/dovecot"

// Dovecot is a prepared, not yet started, Dovecot server.
type Dovecot struct {
	Dir          string // everything lives here
	Addr         string // IMAPS (TLS from the start) on 127.0.0.1
	StartTLSAddr string // IMAP with STARTTLS on 127.0.0.1
	User         string
	Password     string
	PasswordFile string // holds Password, for --mail-imap-password-file
	CAFile       string // PEM of the certificate, for --mail-imap-ca-file
	Maildir      string
	Conf         string
	Log          string
	Pool         *x509.CertPool
	uid, gid     int
}

// Args are the arguments that start the server in the foreground.
func (d *Dovecot) Args() []string { return []string{"-F", "-c", d.Conf} }

// TLS is a client configuration that trusts the server's certificate.
func (d *Dovecot) TLS() *tls.Config {
	return &tls.Config{RootCAs: d.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// New prepares a server, or skips the test when dovecot is not installed
// (.ci/run installs it).
func New(t testing.TB) *Dovecot {
	t.Helper()
	if _, err := os.Stat(Bin); err != nil {
		t.Skip("dovecot is not installed (apt-get install dovecot-imapd)")
	}
	dir, err := os.MkdirTemp("", "tierline-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &Dovecot{Dir: dir, User: "helpdesk", Password: "imap-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		Addr: freeAddr(t), StartTLSAddr: freeAddr(t)}
	// Dovecot gives no mail access to root: the mailbox belongs to nobody
	// when the test runs as root, to the test's own user otherwise.
	d.uid, d.gid = os.Getuid(), os.Getgid()
	loginUser, internalUser := "dovenull", "dovecot"
	if d.uid == 0 {
		d.uid, d.gid = 65534, 65534
	} else {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		loginUser, internalUser = u.Username, u.Username
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"run", "state", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	home := filepath.Join(dir, "home", d.User)
	d.Maildir = filepath.Join(home, "Maildir")
	for _, sub := range []string{"", "new", "cur", "tmp"} {
		p := filepath.Join(d.Maildir, sub)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	d.chownTree(t, home)

	certPEM, keyPEM := selfSigned(t)
	d.CAFile = filepath.Join(dir, "cert.pem")
	write(t, d.CAFile, certPEM, 0o644)
	write(t, filepath.Join(dir, "key.pem"), keyPEM, 0o600)
	d.Pool = x509.NewCertPool()
	d.Pool.AppendCertsFromPEM(certPEM)
	write(t, filepath.Join(dir, "passwd"), []byte(d.User+":{PLAIN}"+d.Password+"::::::\n"), 0o644)
	d.PasswordFile = filepath.Join(dir, "imap-password")
	write(t, d.PasswordFile, []byte(d.Password+"\n"), 0o600)

	_, imapPort, _ := net.SplitHostPort(d.StartTLSAddr)
	_, imapsPort, _ := net.SplitHostPort(d.Addr)
	d.Log = filepath.Join(dir, "dovecot.log")
	d.Conf = filepath.Join(dir, "dovecot.conf")
	conf := fmt.Sprintf(`# A private Dovecot for one test.
protocols = imap
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = tierline-test-%[2]s
log_path = %[1]s/dovecot.log
info_log_path = %[1]s/dovecot.log
default_login_user = %[3]s
default_internal_user = %[4]s
first_valid_uid = 1
ssl = required
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[5]d gid=%[6]d home=%[1]s/home/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[7]s
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[8]s
    ssl = yes
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
`, dir, filepath.Base(dir), loginUser, internalUser, d.uid, d.gid, imapPort, imapsPort)
	write(t, d.Conf, []byte(conf), 0o644)
	return d
}

// Ready reports whether the server answers TLS on its IMAPS port.
func (d *Dovecot) Ready() bool {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", d.Addr, d.TLS())
	if err != nil {
		return false
	}
	c.Close()
	return true
}

var seq atomic.Int64

// Deliver puts a mail into the mailbox as unseen, the way a local
// delivery agent does (tmp, then rename into new), and returns its
// maildir base name.
func (d *Dovecot) Deliver(t testing.TB, raw []byte) string {
	t.Helper()
	name := fmt.Sprintf("%d.M%dP%d.tierline-test", time.Now().Unix(), seq.Add(1), os.Getpid())
	tmp := filepath.Join(d.Maildir, "tmp", name)
	write(t, tmp, raw, 0o600)
	if err := os.Chown(tmp, d.uid, d.gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.Maildir, "new", name)); err != nil {
		t.Fatal(err)
	}
	return name
}

// Flags returns the maildir flags and keywords of a delivered mail ("S"
// for \Seen, keywords by name), and false while it is still in new/
// (nobody has looked at it).
func (d *Dovecot) Flags(name string) (flags string, keywords []string, found bool) {
	entries, _ := os.ReadDir(filepath.Join(d.Maildir, "cur"))
	for _, e := range entries {
		base, info, ok := strings.Cut(e.Name(), ":2,")
		if !ok || base != name {
			continue
		}
		names := d.keywordNames()
		for _, c := range info {
			if c >= 'a' && c <= 'z' {
				if k, ok := names[int(c-'a')]; ok {
					keywords = append(keywords, k)
				}
			} else {
				flags += string(c)
			}
		}
		return flags, keywords, true
	}
	return "", nil, false
}

// Seen reports whether the mail has the \Seen flag.
func (d *Dovecot) Seen(name string) bool {
	f, _, _ := d.Flags(name)
	return strings.Contains(f, "S")
}

func (d *Dovecot) keywordNames() map[int]string {
	b, err := os.ReadFile(filepath.Join(d.Maildir, "dovecot-keywords"))
	out := map[int]string{}
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		i, name, ok := strings.Cut(line, " ")
		if n, err := strconv.Atoi(i); ok && err == nil {
			out[n] = name
		}
	}
	return out
}

// LogText is what the server logged so far.
func (d *Dovecot) LogText() string {
	b, _ := os.ReadFile(d.Log)
	return string(b)
}

func (d *Dovecot) chownTree(t testing.TB, root string) {
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, d.uid, d.gid)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t testing.TB, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func selfSigned(t testing.TB) (certPEM, keyPEM []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "tierline test IMAP"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

package health

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// checkTLS is the TLS configuration of a URL check on host: the server's
// chain is verified against the system's root certificates as Go's own
// verification does, but without keeping the system's pool. Go loads it
// once and keeps it for the life of the process (about 240 KB of heap on
// Debian, after parsing every root twice); the agent needs it only for
// the URL checks of a hub policy, every few minutes (docs/benchmarks.md).
// So each verification takes only the roots whose subject issued a
// certificate of the chain, found by issuer and remembered (a few KB),
// and the bundle is read again only when it changed.
func checkTLS(host string) *tls.Config {
	return &tls.Config{
		ServerName: host,
		// Verified below, in full: the chain, the name, the usage.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := verifyChain(cs.PeerCertificates, host, &systemRoots); err != nil {
				return fmt.Errorf("tls: failed to verify certificate: %w", err)
			}
			return nil
		},
	}
}

func verifyChain(certs []*x509.Certificate, host string, roots *issuerRoots) error {
	if len(certs) == 0 {
		return errors.New("the server sent no certificate")
	}
	inter := x509.NewCertPool()
	var issuers [][]byte
	for i, c := range certs {
		if i > 0 {
			inter.AddCert(c)
		}
		issuers = append(issuers, c.RawIssuer)
	}
	pool, err := roots.pool(issuers)
	if err != nil {
		return err
	}
	_, err = certs[0].Verify(x509.VerifyOptions{DNSName: host, Intermediates: inter, Roots: pool})
	return err
}

// issuerRoots finds the system's roots by subject, in the files and
// folders Go's crypto/x509 reads on Linux (SSL_CERT_FILE and SSL_CERT_DIR
// too), and remembers what it found for each issuer until they change.
type issuerRoots struct {
	sources func() (files, dirs []string)

	mu    sync.Mutex
	stamp string
	found map[string][][]byte // issuer's raw subject → DER of the roots with it
}

var systemRoots = issuerRoots{sources: systemRootSources}

// maxIssuers bounds what issuerRoots remembers.
const maxIssuers = 64

func (r *issuerRoots) pool(issuers [][]byte) (*x509.CertPool, error) {
	files, dirs := r.sources()
	stamp := sourcesStamp(files, dirs)
	r.mu.Lock()
	defer r.mu.Unlock()
	if stamp != r.stamp || len(r.found) > maxIssuers {
		r.stamp, r.found = stamp, map[string][][]byte{}
	}
	var missing [][]byte
	for _, is := range issuers {
		if _, ok := r.found[string(is)]; !ok {
			missing = append(missing, is)
			r.found[string(is)] = nil
		}
	}
	if len(missing) > 0 {
		read := 0
		scan := func(raw []byte) {
			read++
			for len(raw) > 0 {
				var b *pem.Block
				if b, raw = pem.Decode(raw); b == nil {
					return
				}
				if b.Type != "CERTIFICATE" || len(b.Headers) != 0 {
					continue
				}
				for _, is := range missing {
					if !bytes.Contains(b.Bytes, is) {
						continue
					}
					have := r.found[string(is)]
					if slices.ContainsFunc(have, func(d []byte) bool { return bytes.Equal(d, b.Bytes) }) {
						continue // the bundle is in a folder read too
					}
					if c, err := x509.ParseCertificate(b.Bytes); err == nil && bytes.Equal(c.RawSubject, is) {
						r.found[string(is)] = append(have, b.Bytes)
					}
				}
			}
		}
		for _, f := range files {
			if raw, err := os.ReadFile(f); err == nil {
				scan(raw)
				break // the first bundle found, as Go
			}
		}
		for _, d := range dirs {
			for _, f := range rootDirFiles(d) {
				if raw, err := os.ReadFile(f); err == nil {
					scan(raw)
				}
			}
		}
		if read == 0 {
			for _, is := range missing {
				delete(r.found, string(is))
			}
			return nil, errors.New("no system root certificates found (in " + strings.Join(append(files, dirs...), ", ") + ")")
		}
	}
	pool := x509.NewCertPool()
	for _, is := range issuers {
		for _, der := range r.found[string(is)] {
			if c, err := x509.ParseCertificate(der); err == nil {
				pool.AddCert(c)
			}
		}
	}
	return pool, nil
}

// systemRootSources are the bundle files (the first that exists counts)
// and folders Go reads on Linux.
func systemRootSources() (files, dirs []string) {
	files = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
		"/etc/pki/tls/cacert.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem"}
	dirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	if d := os.Getenv("SSL_CERT_DIR"); d != "" {
		dirs = strings.Split(d, ":")
	}
	return files, dirs
}

// sourcesStamp changes when a bundle or a folder's list does.
func sourcesStamp(files, dirs []string) string {
	var b strings.Builder
	for _, p := range append(files, dirs...) {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s %d %d;", p, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// rootDirFiles lists a roots folder as Go does: links to another entry
// of the same folder (OpenSSL's hash names) are left out.
func rootDirFiles(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.Type()&os.ModeSymlink != 0 {
			if t, err := os.Readlink(p); err == nil && !strings.Contains(t, "/") {
				continue
			}
		} else if !e.Type().IsRegular() {
			continue
		}
		out = append(out, p)
	}
	return out
}

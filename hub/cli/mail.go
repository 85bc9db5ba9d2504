package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/mailin"
)

// mailFlags are serve's email intake flags (hub/mailin, hub/mailout).
type mailFlags struct {
	addr, tlsMode, user, passFile, caFile, mailbox, address *string
	poll                                                    *time.Duration
	maxFiles, maxFileMB, senderLimit                        *int
}

func addMailFlags(fs *flag.FlagSet) mailFlags {
	return mailFlags{
		addr:        fs.String("mail-imap-addr", "", "IMAP server host:port whose mailbox becomes tickets (default: no email intake) [TIERLINE_MAIL_IMAP_ADDR]"),
		tlsMode:     fs.String("mail-imap-tls", mailin.TLSImplicit, "imaps (TLS from the start, port 993) or starttls (port 143) [TIERLINE_MAIL_IMAP_TLS]"),
		user:        fs.String("mail-imap-user", "", "IMAP user name [TIERLINE_MAIL_IMAP_USER]"),
		passFile:    fs.String("mail-imap-password-file", "", "file holding the IMAP password [TIERLINE_MAIL_IMAP_PASSWORD_FILE]"),
		caFile:      fs.String("mail-imap-ca-file", "", "PEM certificates to trust for the IMAP server instead of the system's (a private CA) [TIERLINE_MAIL_IMAP_CA_FILE]"),
		mailbox:     fs.String("mail-imap-mailbox", "INBOX", "mailbox to read [TIERLINE_MAIL_IMAP_MAILBOX]"),
		address:     fs.String("mail-address", "", "the support address users write to: replies come from it, mail from it is ignored as a loop [TIERLINE_MAIL_ADDRESS]"),
		poll:        fs.Duration("mail-poll", time.Minute, "how often to look for new mail [TIERLINE_MAIL_POLL]"),
		maxFiles:    fs.Int("mail-max-attachments", 10, "attachments kept per mail; more are listed as dropped [TIERLINE_MAIL_MAX_ATTACHMENTS]"),
		maxFileMB:   fs.Int("mail-max-attachment-mb", 10, "largest attachment kept, in MiB; larger ones are listed as dropped [TIERLINE_MAIL_MAX_ATTACHMENT_MB]"),
		senderLimit: fs.Int("mail-sender-limit", 20, "mails one sender may bring in per hour; more are ignored (a loop or a flood) [TIERLINE_MAIL_SENDER_LIMIT]"),
	}
}

// config reads the flags into the collector's configuration; an empty
// Addr means no email intake. smtpAddr is --smtp-addr: replies need it.
func (m mailFlags) config(smtpAddr string) (mailin.Config, error) {
	if *m.addr == "" {
		if *m.user != "" || *m.passFile != "" || *m.address != "" || *m.caFile != "" {
			return mailin.Config{}, errors.New("--mail-imap-user, --mail-imap-password-file, --mail-imap-ca-file and --mail-address need --mail-imap-addr host:port")
		}
		return mailin.Config{}, nil
	}
	if smtpAddr == "" {
		return mailin.Config{}, errors.New("--mail-imap-addr needs --smtp-addr host:port: technicians' replies to email tickets go out through it")
	}
	if *m.passFile == "" {
		return mailin.Config{}, errors.New("--mail-imap-addr needs --mail-imap-password-file: the file holding the IMAP password (never on the command line)")
	}
	b, err := os.ReadFile(*m.passFile)
	if err != nil {
		return mailin.Config{}, fmt.Errorf("--mail-imap-password-file: %w", err)
	}
	pass := strings.TrimRight(string(b), "\r\n")
	if pass == "" {
		return mailin.Config{}, fmt.Errorf("--mail-imap-password-file %s is empty", *m.passFile)
	}
	if *m.maxFiles < 0 || *m.maxFileMB < 1 || *m.maxFileMB > 1024 || *m.senderLimit < 1 {
		return mailin.Config{}, errors.New("--mail-max-attachments must be 0 or more, --mail-max-attachment-mb 1 to 1024, --mail-sender-limit 1 or more")
	}
	host, _, err := net.SplitHostPort(*m.addr)
	if err != nil {
		return mailin.Config{}, fmt.Errorf("--mail-imap-addr %q is not host:port (such as imap.example.com:993)", *m.addr)
	}
	tlsCfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if *m.caFile != "" {
		pem, err := os.ReadFile(*m.caFile)
		if err != nil {
			return mailin.Config{}, fmt.Errorf("--mail-imap-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return mailin.Config{}, fmt.Errorf("--mail-imap-ca-file %s holds no PEM certificate", *m.caFile)
		}
		tlsCfg.RootCAs = pool
	}
	maxFiles := *m.maxFiles
	if maxFiles == 0 {
		maxFiles = -1 // keep none
	}
	return mailin.Config{Addr: *m.addr, TLSMode: *m.tlsMode, TLS: tlsCfg, User: *m.user, Password: pass, Mailbox: *m.mailbox,
		Every: *m.poll, Address: *m.address, SenderLimit: *m.senderLimit,
		Limits: mailin.Limits{MaxAttachments: maxFiles, MaxAttachmentBytes: int64(*m.maxFileMB) << 20}}, nil
}

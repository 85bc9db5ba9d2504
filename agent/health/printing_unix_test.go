//go:build !windows

package health

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPrintersSetUp: CUPS is asked when a queue is in printers.conf or the
// printcap, a document is in its spool (the files cupsd writes up to 30 s
// after a change lag behind), or a print server is named in client.conf;
// not otherwise.
func TestPrintersSetUp(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"nothing", nil, false},
		{"printers.conf without a printer", map[string]string{"etc/cups/printers.conf": "# Printer configuration file\n"}, false},
		{"printers.conf", map[string]string{"etc/cups/printers.conf": "<Printer office>\nState Idle\n</Printer>\n"}, true},
		{"a document spooled (a queue just added)", map[string]string{"var/spool/cups/d00001-001": "%!PS\n", "var/spool/cups/tmp/.keep": ""}, true},
		{"an empty spool", map[string]string{"var/spool/cups/tmp/.keep": ""}, false},
		{"printcap only", map[string]string{"run/cups/printcap": "# This file was automatically generated\noffice|office:rm=pc:rp=office:\n"}, true},
		{"printcap with comments only", map[string]string{"run/cups/printcap": "# This file was automatically generated\n"}, false},
		{"print server", map[string]string{"etc/cups/client.conf": "# the office's server\nServerName print.corp.example\n"}, true},
		{"client.conf without a server", map[string]string{"etc/cups/client.conf": "# ServerName print.corp.example\n"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for p, content := range tt.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := &Config{Root: root}
			got, err := printersSetUp(c)
			if err != nil || got != tt.want {
				t.Errorf("printersSetUp = %v, %v; want %v", got, err, tt.want)
			}
			if !tt.want {
				st, err := readPrinting(c)(t.Context())
				if err != nil || !st.None {
					t.Errorf("readPrinting without printers: %+v %v; want None without asking CUPS", st, err)
				}
			}
		})
	}
}

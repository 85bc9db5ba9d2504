package health

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// readTimeSync measures the clock against the time server macOS is set to
// use (/etc/ntp.conf, written by System Settings) with sntp, which only
// measures; nothing is asked when no server is set.
func readTimeSync(ctx context.Context) (syncState, error) {
	server := ""
	if b, err := os.ReadFile("/etc/ntp.conf"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "server" {
				server = f[1]
				break
			}
		}
	}
	if server == "" {
		return syncState{Source: "sntp", Details: nil}, nil
	}
	out, _ := execx.Output(ctx, 10*time.Second, 16<<10, "sntp", "-t", "3", server)
	return parseSntp(out), nil
}

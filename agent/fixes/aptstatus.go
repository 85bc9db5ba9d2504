package fixes

import (
	"math"
	"strconv"
	"strings"

	"github.com/tierline/tierline/shared/wire"
)

// ParseAptStatus reads one line apt writes to its status descriptor
// (apt-get -o APT::Status-Fd=N): "dlstatus:ITEM:PERCENT:TEXT" while it
// downloads, "pmstatus:PACKAGE:PERCENT:TEXT" while dpkg installs
// ("pmstatus:hello:40:Unpacking hello (amd64)"). TEXT may hold colons.
// It returns the percent (0-100) and the text of a progress step; ok is
// false for any other line (apt's own output, pmerror, pmconffile), which
// then is no step.
func ParseAptStatus(line string) (percent int, text string, ok bool) {
	parts := strings.SplitN(line, ":", 4)
	if len(parts) != 4 || parts[0] != "dlstatus" && parts[0] != "pmstatus" {
		return 0, "", false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(parts[2]), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 100 {
		return 0, "", false
	}
	text = wire.ProgressText(parts[3])
	if text == "" {
		return 0, "", false
	}
	if parts[0] == "dlstatus" {
		text = wire.ProgressText("Downloading: " + text)
	}
	return int(f), text, true
}

package fixes

import (
	"regexp"

	"github.com/tierline/tierline/shared/catalog"
)

func planVacuumJournals(params map[string]string, m Machine) (Plan, error) {
	switch {
	case m.GOOS != catalog.Linux:
		return Plan{}, notApplicable("vacuum-journals is not available on %s", m.GOOS)
	case !m.has("journalctl"):
		return Plan{}, notApplicable("systemd's journal (journalctl) is not installed on this computer: there is no journal to trim")
	case m.SystemdNotRunning:
		return Plan{}, noSystemd("The system logs cannot be trimmed")
	}
	return Plan{Steps: []Step{{Action: &Action{Name: ActVacuumJournals, Args: pick(params, "max_mib", "days")}}}}, nil
}

// rotatedLog matches the names logrotate (and syslog daemons) give old
// logs: syslog.1, dpkg.log.2.gz, messages-20261201, Xorg.0.log.old, any
// compressed file. Live logs (syslog, auth.log, wtmp) never match.
var rotatedLog = regexp.MustCompile(`\A.+(\.[0-9]{1,4}(\.(gz|xz|bz2|zst|lz4))?|\.(gz|xz|bz2|zst|lz4)|-[0-9]{8}([0-9]{2})?(\.(gz|xz|bz2|zst|lz4))?|\.old)\z`)

// isRotatedLog reports whether a file in /var/log is an old, rotated log.
func isRotatedLog(name string) bool { return rotatedLog.MatchString(name) }

package crashes

import (
	"bytes"
	"regexp"
	"strconv"
	"time"
)

// kmsgRecord is one record of /dev/kmsg: "prio,seq,usec,flags;text",
// usec counted from boot.
type kmsgRecord struct {
	Seq  uint64
	Usec uint64
	Text string
}

// parseKmsgRecord parses one record as read(2) on /dev/kmsg returns it;
// continuation lines (" KEY=value") are dropped.
func parseKmsgRecord(b []byte) (kmsgRecord, bool) {
	head, text, ok := bytes.Cut(b, []byte(";"))
	if !ok {
		return kmsgRecord{}, false
	}
	if i := bytes.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	f := bytes.SplitN(head, []byte(","), 5)
	if len(f) < 4 {
		return kmsgRecord{}, false
	}
	seq, err1 := strconv.ParseUint(string(f[1]), 10, 64)
	usec, err2 := strconv.ParseUint(string(f[2]), 10, 64)
	if err1 != nil || err2 != nil {
		return kmsgRecord{}, false
	}
	return kmsgRecord{Seq: seq, Usec: usec, Text: string(text)}, true
}

var (
	// "prog[1234]: segfault at 0 ip ...", "traps: prog[1234] general
	// protection fault ...", "traps: prog[1234] trap divide error ...",
	// "prog[1234]: unhandled level 3 translation fault (11) at ..." (arm64),
	// "prog[1234]: potentially unexpected fatal signal 6." (print-fatal-signals).
	kmsgFault = regexp.MustCompile(`^(?:traps: )?(.{1,64}?)\[(\d+)\]:? (segfault at|general protection|trap ([a-z0-9 ]+?) ip|unhandled [a-z0-9 ]*fault|potentially unexpected fatal signal (\d+))`)
	// "INFO: task prog:1234 blocked for more than 120 seconds."
	kmsgHung = regexp.MustCompile(`^INFO: task (.{1,64}?):(\d+) blocked for more than \d+ seconds`)
)

var trapSignals = map[string]string{
	"divide error": "SIGFPE", "invalid opcode": "SIGILL", "int3": "SIGTRAP", "stack segment": "SIGBUS",
}

// kmsgEvent turns one kernel log line into a crash or hang, if it is one.
// boot is the wall-clock time the kernel's timestamps count from.
func kmsgEvent(r kmsgRecord, boot time.Time) (Event, bool) {
	at := boot.Add(time.Duration(r.Usec) * time.Microsecond)
	if m := kmsgHung.FindStringSubmatch(r.Text); m != nil {
		pid, _ := strconv.Atoi(m[2])
		return Event{App: m[1], PID: pid, Time: at, Kind: KindHang, Reason: "blocked in the kernel", Source: "kernel-log"}, true
	}
	m := kmsgFault.FindStringSubmatch(r.Text)
	if m == nil {
		return Event{}, false
	}
	pid, _ := strconv.Atoi(m[2])
	reason := "SIGSEGV"
	switch {
	case m[4] != "":
		if s, ok := trapSignals[m[4]]; ok {
			reason = s
		} else {
			reason = "trap " + m[4]
		}
	case m[5] != "":
		n, _ := strconv.Atoi(m[5])
		reason = signalName(n)
	}
	return Event{App: m[1], PID: pid, Time: at, Kind: KindCrash, Reason: reason, Source: "kernel-log"}, true
}

var signalNames = map[int]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
	9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 15: "SIGTERM", 24: "SIGXCPU", 25: "SIGXFSZ", 31: "SIGSYS",
}

// signalName names a Linux signal number ("signal 42" when it has no name here).
func signalName(n int) string {
	if s, ok := signalNames[n]; ok {
		return s
	}
	return "signal " + strconv.Itoa(n)
}

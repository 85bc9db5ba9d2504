package crashes

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// CoredumpMessageID is the journal MESSAGE_ID of systemd-coredump's
// "Process ... dumped core" entries.
const CoredumpMessageID = "fc2e22bc6ee647b6b90729ab34a250b1"

// parseJournal reads `journalctl -o json` output (one object a line) of
// systemd-coredump entries. It returns the events and the cursor of the
// last entry, for the next read's --after-cursor.
func parseJournal(out []byte) ([]Event, string) {
	var evs []Event
	var cursor string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			continue
		}
		field := func(k string) string {
			var s string
			if json.Unmarshal(raw[k], &s) != nil {
				return "" // absent, or binary (an array of bytes)
			}
			return s
		}
		if c := field("__CURSOR"); c != "" {
			cursor = c
		}
		app := field("COREDUMP_COMM")
		if exe := field("COREDUMP_EXE"); exe != "" {
			app = exe[strings.LastIndexByte(exe, '/')+1:]
		}
		if app == "" {
			continue
		}
		us := field("COREDUMP_TIMESTAMP")
		if us == "" {
			us = field("__REALTIME_TIMESTAMP")
		}
		usec, err := strconv.ParseInt(us, 10, 64)
		if err != nil {
			continue
		}
		e := Event{App: app, Time: time.UnixMicro(usec).UTC(), Kind: KindCrash, Source: "coredump",
			Version: field("COREDUMP_PACKAGE_VERSION"), Reason: field("COREDUMP_SIGNAL_NAME")}
		e.PID, _ = strconv.Atoi(field("COREDUMP_PID"))
		if e.Reason == "" {
			if n, err := strconv.Atoi(field("COREDUMP_SIGNAL")); err == nil {
				e.Reason = signalName(n)
			}
		}
		evs = append(evs, e)
	}
	return evs, cursor
}

// parseCoreName reads systemd-coredump's file name,
// core.COMM.UID.BOOTID.PID.USEC[.zst|.lz4|.xz], for the application, its
// pid and the time: what the directory listing says without opening a file.
func parseCoreName(name string) (Event, bool) {
	rest, ok := strings.CutPrefix(name, "core.")
	if !ok {
		return Event{}, false
	}
	parts := strings.Split(rest, ".")
	switch parts[len(parts)-1] {
	case "zst", "lz4", "xz":
		parts = parts[:len(parts)-1]
	}
	if len(parts) < 5 {
		return Event{}, false
	}
	n := len(parts)
	usec, err1 := strconv.ParseInt(parts[n-1], 10, 64)
	pid, err2 := strconv.Atoi(parts[n-2])
	if err1 != nil || err2 != nil || len(parts[n-3]) != 32 {
		return Event{}, false
	}
	if _, err := strconv.Atoi(parts[n-4]); err != nil {
		return Event{}, false
	}
	comm := strings.Join(parts[:n-4], ".")
	if comm == "" {
		return Event{}, false
	}
	return Event{App: unescapeComm(comm), PID: pid, Time: time.UnixMicro(usec).UTC(), Kind: KindCrash, Source: "coredump"}, true
}

// unescapeComm undoes systemd's \xNN escapes in a file name.
func unescapeComm(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

package crashes

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"time"
)

// Windows Error Reporting's events in the Application log.
const (
	werCrashID = 1000 // "Application Error": a faulting application
	werHangID  = 1002 // "Application Hang": stopped interacting with Windows
)

type werEvent struct {
	System struct {
		EventID     int `xml:"EventID"`
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		EventRecordID uint64 `xml:"EventRecordID"`
	} `xml:"System"`
	Data []struct {
		Name  string `xml:"Name,attr"`
		Value string `xml:",chardata"`
	} `xml:"EventData>Data"`
}

// werPositions are where unnamed Data elements keep the fields (older
// Windows releases write the event's insertion strings without names).
var werPositions = map[int]map[string]int{
	werCrashID: {"AppName": 0, "AppVersion": 1, "ExceptionCode": 6, "ProcessId": 8},
	werHangID:  {"AppName": 0, "AppVersion": 1, "ProcessId": 2, "ExceptionCode": -1},
}

// parseWER reads `wevtutil qe Application /f:xml` output: a sequence of
// <Event> elements without a root. It returns the crash and hang events
// and the highest EventRecordID seen, the cursor of the next query.
func parseWER(out []byte) ([]Event, uint64) {
	var evs []Event
	var maxID uint64
	dec := xml.NewDecoder(bytes.NewReader(out))
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Event" {
			continue
		}
		var we werEvent
		if err := dec.DecodeElement(&we, &se); err != nil {
			break
		}
		maxID = max(maxID, we.System.EventRecordID)
		pos, ok := werPositions[we.System.EventID]
		if !ok {
			continue
		}
		named := len(we.Data) > 0 && we.Data[0].Name != ""
		get := func(name string) string {
			for i, d := range we.Data {
				if (named && d.Name == name) || (!named && i == pos[name]) {
					return strings.TrimSpace(d.Value)
				}
			}
			return ""
		}
		at, err := time.Parse(time.RFC3339Nano, we.System.TimeCreated.SystemTime)
		if err != nil {
			continue
		}
		e := Event{App: get("AppName"), Version: get("AppVersion"), Time: at.UTC(), Kind: KindCrash, Source: "wer"}
		if we.System.EventID == werHangID {
			e.Kind = KindHang
		} else if code := get("ExceptionCode"); code != "" {
			e.Reason = "0x" + strings.TrimPrefix(strings.ToLower(code), "0x")
		}
		if p, err := strconv.ParseInt(strings.TrimPrefix(strings.ToLower(get("ProcessId")), "0x"), 16, 64); err == nil {
			e.PID = int(p)
		}
		if e.App == "" {
			continue
		}
		evs = append(evs, e)
	}
	return evs, maxID
}

// werQuery is the XPath of the Application log query: crash and hang
// events after the cursor, or of the last day on the first read.
func werQuery(after uint64) string {
	if after == 0 {
		return "*[System[(EventID=1000 or EventID=1002) and TimeCreated[timediff(@SystemTime) <= 86400000]]]"
	}
	return "*[System[(EventID=1000 or EventID=1002) and EventRecordID > " + strconv.FormatUint(after, 10) + "]]"
}

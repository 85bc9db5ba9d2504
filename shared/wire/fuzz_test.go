package wire

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecode: no frame makes Decode or DecodeAny panic, and every refusal
// carries a protocol code.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"ack","id":"a","seq":1,"time":"2026-11-23T00:00:00Z","body":{"seq":1}}`))
	f.Add([]byte(`{"v":1,"type":"telemetry","id":"a","seq":2,"time":"2026-11-23T00:00:00Z","body":{"sample":{"time":"2026-11-23T00:00:00Z"}}}`))
	f.Add([]byte(`{"v":1,"type":"hello","id":"a","time":"2026-11-23T00:00:00Z","body":{"device_id":"00000000000000000000000000000000","signature":"AAAA"}}`))
	f.Add([]byte(`{"v":1,"type":"run_request","id":"a","time":"2026-11-23T00:00:00Z","body":{"run_id":"r1","fix":"flush-dns","tier":1,"params":{"a":"b"}}}`))
	f.Add([]byte(`{"v":1,"type":"run_result","id":"a","seq":3,"time":"2026-11-23T00:00:00Z","body":{"run_id":"r1","outcome":"fixed","before":[{"name":"dns-resolution","status":"failing"}]}}`))
	f.Add([]byte(`{"v":1,"type":"help_request","id":"a","seq":4,"time":"2026-11-23T00:00:00Z","body":{"request_id":"q1","text":"no wifi","category":"cannot-connect","tried":{"runs":[{"fix":"flush-dns","outcome":"not_fixed"}]},"snapshot":{"taken":"2026-11-23T00:00:00Z","history":{}}}}`))
	f.Add([]byte(`{"v":1,"type":"help_request","id":"b","seq":5,"time":"2026-12-06T00:00:00Z","body":{"request_id":"q2","text":"outlook keeps closing","category":"application","tried":{},"snapshot":{"taken":"2026-12-06T00:00:00Z","history":{},"crashes":[{"app":"OUTLOOK.EXE","version":"16.0","crashes":4,"today":4,"last":"2026-12-05T23:00:00Z","last_kind":"crash","reason":"0xc0000005","source":"wer"}]}}}`))
	f.Add([]byte(`{"v":1,"type":"help_request","id":"c","seq":6,"time":"2026-12-06T00:00:00Z","body":{"request_id":"q3","text":"no network","category":"cannot-connect","tried":{},"snapshot":{"taken":"2026-12-06T00:00:00Z","history":{},"network":{"taken":"2026-12-06T00:00:00Z","interfaces":[{"name":"eth0","mac":"52:54:00:12:34:56","addresses":["10.0.0.2/24"],"up":true,"carrier":false}],"default_gateway":"10.0.0.1","default_interface":"eth0","dns_servers":["10.0.0.1"],"search_domains":["corp.example"],"wifi":{"ssid":"Office","signal_dbm":-60},"unavailable":{"wifi":"no wireless interface"}}}}}`))
	f.Add([]byte(`{"v":1,"type":"inventory","id":"d","seq":7,"time":"2026-12-06T00:00:00Z","body":{"inventory":{"time":"2026-12-06T00:00:00Z","hostname":"pc","os":{"name":"linux","arch":"amd64"},"hardware":{},"network":{},"fixes_not_applicable":{"restart-print-spooler":"CUPS (cupsd) is not installed"}}}}`))
	f.Add([]byte(`{"v":1,"type":"survey_answer","id":"a","seq":5,"time":"2026-11-23T00:00:00Z","body":{"ticket_id":"t1","score":5}}`))
	f.Add([]byte(`{"v":1,"type":"ticket_update","id":"a","time":"2026-11-23T00:00:00Z","body":{"ticket_id":"t1","state":"resolved","ask_survey":true}}`))
	f.Add([]byte(`{"v":1,"type":"kb_query","id":"a","time":"2026-11-23T00:00:00Z","body":{"query_id":"k1","text":"printer"}}`))
	// Sequence numbers at the top: a frame at 2^64-1, a welcome whose
	// last_seq would make the agent wrap.
	f.Add([]byte(`{"v":1,"type":"telemetry","id":"e","seq":18446744073709551615,"time":"2026-12-06T00:00:00Z","body":{"sample":{"time":"2026-12-06T00:00:00Z"}}}`))
	f.Add([]byte(`{"v":1,"type":"welcome","id":"w","time":"2026-12-06T00:00:00Z","body":{"device_id":"00000000000000000000000000000000","hub_time":"2026-12-06T00:00:00Z","last_seq":18446744073709551615}}`))
	// A refused help request, and a joined one.
	f.Add([]byte(`{"v":1,"type":"help_receipt","id":"r","time":"2026-12-06T00:00:00Z","body":{"request_id":"q9","ticket_id":"","number":0,"tier":0,"refused":"over the budget","retry_at":"2026-12-06T01:00:00Z"}}`))
	f.Add([]byte(`{"v":1,"type":"help_receipt","id":"r","time":"2026-12-06T00:00:00Z","body":{"request_id":"q9","ticket_id":"t1","number":4,"tier":1,"joined":true}}`))
	f.Add([]byte(`{"v":1,"type":"templates_query","id":"a","time":"2026-12-06T00:00:00Z","body":{"query_id":"t1"}}`))
	f.Add([]byte(`{"v":1,"type":"template_list","id":"a","time":"2026-12-06T00:00:00Z","body":{"query_id":"t1","templates":[{"id":"m1","name":"New monitor","tier":1,"priority":4,"fields":[{"key":"size","label":"Size","kind":"choice","required":true,"choices":["24 inch","27 inch"]},{"key":"why","label":"Why","kind":"text","max_len":200},{"key":"urgent","label":"Urgent?","kind":"yesno"}]}]}}`))
	f.Add([]byte(`{"v":1,"type":"help_request","id":"e","seq":8,"time":"2026-12-06T00:00:00Z","body":{"request_id":"q4","text":"New monitor","template":"m1","answers":{"size":"27 inch","urgent":"no"},"tried":{},"snapshot":{"taken":"2026-12-06T00:00:00Z","history":{}}}}`))
	f.Add([]byte(`{"v":1,"type":"recipes","id":"a","time":"2026-12-06T00:00:00Z","body":{"docs":[{"kind":"recipe","body":{"id":"x","version":1},"key":"0123456789abcdef","sig":"AAAA"}],"key_changes":[{"kind":"key-change","body":{"new":"AAAA","serial":1},"key":"0123456789abcdef","sig":"AAAA"}]}}`))
	f.Add([]byte(`{"v":1,"type":"recipe_status","id":"a","time":"2026-12-06T00:00:00Z","body":{"key":"0123456789abcdef","accepted":[{"id":"x","version":2}],"refused":[{"id":"y","version":1,"reason":"older"}]}}`))
	f.Add([]byte(`{"v":1,"type":"policy_update","id":"p","time":"2026-12-06T00:00:00Z","body":{"group":"lab","version":3,"policy":{"max_tier":1,"checks":[{"name":"vpn","title":"VPN","tcp":{"host":"vpn.example","port":443}}]}}}`))
	f.Add([]byte(`{"v":1,"type":"policy_update","id":"p","time":"2026-12-06T00:00:00Z","body":{"group":"","version":0}}`))
	f.Add([]byte(`{"v":1,"type":"policy_status","id":"s","time":"2026-12-06T00:00:00Z","body":{"group":"lab","version":3,"narrowed":["max_tier: local wins"],"fixes":["flush-dns"],"checks":["vpn"]}}`))
	f.Add([]byte(`{"v":1,"type":"run_progress","id":"g","time":"2026-12-06T00:00:00Z","body":{"run_id":"r1","percent":40,"text":"Unpacking hello"}}`))
	f.Add([]byte(`{"v":1,"type":"run_progress","id":"g","time":"2026-12-06T00:00:00Z","body":{"run_id":"r1","percent":-1,"text":"a\u0000b"}}`))
	f.Add([]byte(`{"v":2,"type":"x"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		env, err := Decode(frame)
		if err != nil {
			if CodeOf(err) == CodeInternal {
				t.Fatalf("refusal without a protocol code: %v", err)
			}
			return
		}
		if env.Seq > MaxSeq {
			t.Fatalf("accepted sequence number %d above MaxSeq", env.Seq)
		}
		body, err := DecodeAny(env)
		if err != nil {
			if CodeOf(err) == CodeInternal {
				t.Fatalf("refusal without a protocol code: %v", err)
			}
			return
		}
		if w, ok := body.(*Welcome); ok && w.LastSeq > MaxSeq {
			t.Fatalf("accepted a welcome with last_seq %d", w.LastSeq)
		}
		// What decodes must encode again.
		if _, err := Encode(env.ID, env.Seq, env.Time, body); err != nil && CodeOf(err) != CodeTooLarge {
			if _, ok := err.(*json.UnsupportedValueError); !ok {
				t.Fatalf("decoded body does not encode: %v", err)
			}
		}
	})
}

// FuzzParseEnrollToken: no string makes the token parser panic, and what it
// accepts is well formed.
func FuzzParseEnrollToken(f *testing.F) {
	f.Add("tl1.eyJ1IjoiaHR0cHM6Ly8xMjcuMC4wLjE6ODQ0MyIsImYiOiIwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMCIsInMiOiJzZWNyZXQtc2VjcmV0LXNlY3JldCJ9")
	f.Add("tl1.")
	f.Add("")
	f.Add(EnrollToken{HubURL: "https://127.0.0.1:8443", CAFingerprint: strings.Repeat("0", 64), Secret: "secret-secret-secret",
		RecipeKey: "cmVjaXBlLWtleS1mb3ItdGhlLXRlc3QtMzItYnl0ZXM="}.Encode())
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseEnrollToken(s)
		if err != nil {
			return
		}
		if len(tok.CAFingerprint) != 64 || tok.Secret == "" || tok.HubURL == "" {
			t.Fatalf("accepted a malformed token: %+v", tok)
		}
	})
}

// FuzzEnrollRequest: the hub's enrollment body decoder and validator.
func FuzzEnrollRequest(f *testing.F) {
	f.Add([]byte(`{"secret":"s","public_key":"AAAA","proof":"AAAA"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req EnrollRequest
		if json.Unmarshal(raw, &req) != nil {
			return
		}
		_ = req.Validate()
	})
}

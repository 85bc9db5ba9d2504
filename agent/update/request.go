package update

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// Agent-facing update endpoints on the hub.
const (
	OfferPath  = "/agent/v1/update"
	BinaryPath = "/agent/v1/update/binary/" // + sha256
	ReportPath = "/agent/v1/update/report"
)

// Headers of a device-signed request.
const (
	HeaderDevice    = "Tierline-Device"
	HeaderTime      = "Tierline-Time"
	HeaderSignature = "Tierline-Signature"
)

// MaxClockSkew is how far a signed request's time may be from the hub's.
const MaxClockSkew = 5 * time.Minute

// RequestMessage is what a device signs for an update request: the method,
// the request URI (path and query), the device id, the time (unix seconds)
// and the SHA-256 of the body. The hub rebuilds it to check the signature.
func RequestMessage(method, requestURI, deviceID, unixTime string, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte("tierline-update-request-v1\n" + method + "\n" + requestURI + "\n" + deviceID + "\n" +
		unixTime + "\n" + hex.EncodeToString(sum[:]))
}

// SignRequest adds the device's signature headers to req, whose body is body.
func SignRequest(req *http.Request, deviceID string, key ed25519.PrivateKey, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := ed25519.Sign(key, RequestMessage(req.Method, req.URL.RequestURI(), deviceID, ts, body))
	req.Header.Set(HeaderDevice, deviceID)
	req.Header.Set(HeaderTime, ts)
	req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
}

// Offer is the hub's answer to OfferPath: the manifest bytes and signature
// of the release this device should run.
type Offer struct {
	Manifest  []byte `json:"manifest"`  // exact signed bytes (base64 in JSON)
	Signature string `json:"signature"` // base64 ed25519 signature
}

// Outcome values reported to the hub.
const (
	OutcomeApplied    = "applied"
	OutcomeRolledBack = "rolled_back"
	OutcomeRefused    = "refused"
)

// Report is what the agent tells the hub about an update attempt.
type Report struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	Outcome string    `json:"outcome"`
	Error   string    `json:"error,omitempty"`
	Time    time.Time `json:"time"`
}

package wire

import (
	"errors"
	"strings"
	"unicode"
)

func init() { register(func() Body { return new(RunProgress) }) }

// TypeRunProgress reports how far a running fix has got (added 2026-12-06
// without a version bump: a hub that does not know it answers with an
// unknown_type error, which the agent only logs, and the run's result
// comes as before).
const TypeRunProgress Type = "run_progress" // agent → hub, unsequenced

// Limits of a RunProgress.
const (
	// MaxProgressText bounds a progress step's text.
	MaxProgressText = 200
	// NoPercent is the Percent of a step that does not know how far the
	// run has got.
	NoPercent = -1
)

// RunProgress is one progress step of a running fix: what it is doing
// now and, when known, how far it has got. It is not spooled: a step
// lost while offline is superseded by the next one or by the result.
type RunProgress struct {
	RunID string `json:"run_id"`
	// Percent is 0 to 100, or NoPercent.
	Percent int `json:"percent"`
	// Text is one short line ("Unpacking hello"), at most
	// MaxProgressText bytes of printable characters.
	Text string `json:"text"`
}

func (RunProgress) Type() Type { return TypeRunProgress }

func (p RunProgress) Validate() error {
	if err := ValidateRunID(p.RunID); err != nil {
		return err
	}
	if p.Percent < NoPercent || p.Percent > 100 {
		return errors.New("percent must be 0 to 100, or -1 when not known")
	}
	if len(p.Text) > MaxProgressText {
		return errors.New("text is longer than 200 bytes")
	}
	if strings.IndexFunc(p.Text, func(r rune) bool { return !unicode.IsPrint(r) || r == unicode.ReplacementChar }) >= 0 {
		return errors.New("text holds control or invalid characters")
	}
	return nil
}

// ProgressText makes s fit a RunProgress: control characters become
// spaces, runs of space one, and it is clipped to MaxProgressText bytes.
func ProgressText(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > MaxProgressText {
		s = strings.TrimSpace(Clip(s, MaxProgressText-len("…")))
	}
	return s
}

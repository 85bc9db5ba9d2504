//go:build !linux

package tray

import "log/slog"

// platformNotifier: on Windows and macOS the tray shows no notifications
// of its own yet; the icon changes state and the Get help page shows
// messages, consent requests and surveys.
func platformNotifier(log *slog.Logger) Notifier { return nil }

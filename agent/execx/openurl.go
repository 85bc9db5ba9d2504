package execx

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"runtime"
)

// OpenURL opens an http or https URL in the user's default browser:
// xdg-open on Linux and the BSDs, open on macOS, the URL protocol handler
// through rundll32 on Windows. It runs in the caller's session (the tray's,
// never the service's) with the caller's environment, so the browser
// finds the user's display, and does not wait for the browser.
func OpenURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("open %q: only http and https URLs are opened", rawURL)
	}
	var argv []string
	switch runtime.GOOS {
	case "windows":
		argv = []string{"rundll32.exe", "url.dll,FileProtocolHandler", u.String()}
	case "darwin":
		argv = []string{"open", u.String()}
	default:
		argv = []string{"xdg-open", u.String()}
	}
	path, err := Find(argv[0])
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("cannot open a browser: %s is not installed; open %s yourself", argv[0], u.String())
	}
	if err != nil {
		return err
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open a browser with %s: %w", argv[0], err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

package update

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// swap puts cand in place of exe, keeping exe as prev. On Unix the old
// binary is hard-linked (or copied) to prev and cand renamed over exe, one
// atomic step; on Windows, where a running program cannot be replaced but
// can be renamed, exe is renamed to prev and cand to exe.
func swap(exe, cand, prev string) error {
	if err := os.Remove(prev); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove old %s: %w", prev, err)
	}
	if runtime.GOOS == "windows" {
		if err := os.Rename(exe, prev); err != nil {
			return fmt.Errorf("keep the previous binary: %w", err)
		}
		if err := os.Rename(cand, exe); err != nil {
			if rerr := os.Rename(prev, exe); rerr != nil {
				return fmt.Errorf("put new binary in place: %w; and restoring the previous failed: %v", err, rerr)
			}
			return fmt.Errorf("put new binary in place: %w", err)
		}
		return nil
	}
	if err := os.Link(exe, prev); err != nil {
		if err := copyFile(exe, prev); err != nil {
			return fmt.Errorf("keep the previous binary: %w", err)
		}
	}
	if err := os.Rename(cand, exe); err != nil {
		return fmt.Errorf("put new binary in place: %w", err)
	}
	return nil
}

// restore puts prev back in place of exe.
func restore(exe, prev string) error {
	if _, err := os.Stat(prev); err != nil {
		return fmt.Errorf("previous binary: %w", err)
	}
	if runtime.GOOS == "windows" {
		failed := exe + ".failed"
		_ = os.Remove(failed)
		if err := os.Rename(exe, failed); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return os.Rename(prev, exe)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

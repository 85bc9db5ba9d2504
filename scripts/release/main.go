// Command release manages the agent release key and signs agent releases.
//
//	go run ./scripts/release keygen --key FILE              make a key pair (FILE 0600, FILE.pub)
//	go run ./scripts/release pubkey --key FILE [--create]   print the public key (base64) for RELEASE_PUBKEY
//	go run ./scripts/release sign --key FILE --binary BIN --version V [--os O --arch A] [--out PREFIX]
//
// sign writes PREFIX.manifest.json and PREFIX.manifest.sig, which
// `tierline-hub release add` stores with the binary. Keep the private key
// offline, on the release machine; the hub never needs it.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/update"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: release keygen|pubkey|sign [flags] (see the comment at the top of scripts/release/main.go)")
	}
	fs := flag.NewFlagSet("release "+args[0], flag.ContinueOnError)
	key := fs.String("key", "", "release private key file")
	switch args[0] {
	case "keygen":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		pub, err := Keygen(*key)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, pub)
		return nil
	case "pubkey":
		create := fs.Bool("create", false, "make the key first when the file does not exist (development keys)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if _, err := os.Stat(*key); errors.Is(err, os.ErrNotExist) && *create {
			if _, err := Keygen(*key); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "release: made a development release key %s; agents built now accept only releases signed with it\n", *key)
		}
		priv, err := LoadKey(*key)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)))
		return nil
	case "sign":
		bin := fs.String("binary", "", "agent binary to release")
		version := fs.String("version", "", "its version (semantic version, as built into it)")
		goos := fs.String("os", runtime.GOOS, "its GOOS")
		arch := fs.String("arch", runtime.GOARCH, "its GOARCH")
		prefix := fs.String("out", "", "output prefix (default: the binary's path)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *prefix == "" {
			*prefix = *bin
		}
		priv, err := LoadKey(*key)
		if err != nil {
			return err
		}
		m, s, err := Sign(priv, *bin, *version, *goos, *arch)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*prefix+".manifest.json", m, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(*prefix+".manifest.sig", []byte(s+"\n"), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s.manifest.json\n%s.manifest.sig\n", *prefix, *prefix)
		return nil
	}
	return fmt.Errorf("unknown command %q: want keygen, pubkey or sign", args[0])
}

// Keygen writes a new key pair: path (base64 seed, 0600) and path.pub.
func Keygen(path string) (string, error) {
	if path == "" {
		return "", errors.New("--key is required")
	}
	if _, err := os.Stat(path); err == nil {
		return "", fmt.Errorf("%s exists; refusing to overwrite a release key", path)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(priv.Seed())+"\n"), 0o600); err != nil {
		return "", err
	}
	p := base64.StdEncoding.EncodeToString(pub)
	return p, os.WriteFile(path+".pub", []byte(p+"\n"), 0o644)
}

// LoadKey reads a private key written by Keygen.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	if path == "" {
		return nil, errors.New("--key is required")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w (make one with: go run ./scripts/release keygen --key %s)", err, path)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s is not a release key (base64 ed25519 seed)", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// Sign makes the manifest for a binary and its signature.
func Sign(priv ed25519.PrivateKey, bin, version, goos, arch string) ([]byte, string, error) {
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(b)
	m := update.Manifest{Product: update.Product, Version: version, OS: goos, Arch: arch,
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b)), Created: time.Now().UTC().Truncate(time.Second)}
	raw, err := m.Encode()
	if err != nil {
		return nil, "", err
	}
	return raw, update.Sign(priv, raw), nil
}

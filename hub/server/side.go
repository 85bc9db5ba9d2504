package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// checkPprofListen accepts only a loopback address: the profiles show
// memory and goroutine stacks, for the hub's own machine alone.
func checkPprofListen(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof-listen %q is not host:port: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--pprof-listen %q: profiles are served on loopback only, such as 127.0.0.1:6060", addr)
	}
	return nil
}

// checkHealthListen accepts host:port; the port must be given, as the
// balancer's checks name it.
func checkHealthListen(addr string) error {
	if addr == "" {
		return nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" || port == "0" {
		return fmt.Errorf("--health-listen %q must be host:port with a port, such as 10.0.0.11:8444", addr)
	}
	return nil
}

// pprofHandler serves Go's profiles (/debug/pprof/).
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// sideSpec is a plain-HTTP listener of its own for what must be reached
// apart from the agents: flag names its address in errors, path is what
// the log points at.
type sideSpec struct {
	flag, addr, path string
	h                http.Handler
}

// side is an opened sideSpec.
type side struct {
	ln   net.Listener
	path string
	h    http.Handler
}

// openSides opens the side listeners whose address is set. They are opened
// at start, so an address the hub cannot take stops it with the reason.
func openSides(specs ...sideSpec) ([]side, error) {
	var out []side
	for _, sp := range specs {
		if sp.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", sp.addr)
		if err != nil {
			closeSides(out)
			return nil, fmt.Errorf("%s %s: %w", sp.flag, sp.addr, err)
		}
		out = append(out, side{ln: ln, path: sp.path, h: sp.h})
	}
	return out, nil
}

func closeSides(sides []side) {
	for _, sd := range sides {
		_ = sd.ln.Close()
	}
}

// serveSide serves a side listener until ctx ends.
func serveSide(ctx context.Context, sd side, log *slog.Logger) error {
	srv := &http.Server{Handler: sd.h, ReadHeaderTimeout: 10 * time.Second}
	log.Info("served apart from the agents", "url", "http://"+sd.ln.Addr().String()+sd.path)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(sd.ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

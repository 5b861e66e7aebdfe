# envsync — the targets a newcomer guesses.
GO      ?= go
BIN     ?= bin/envsync
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/envsync/envsync.Version=$(VERSION)
FUZZTIME ?= 20s

.PHONY: build test test-deps bench fuzz lint demo clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/envsync

# Tests talk to a real AWS API endpoint (moto_server) and need it on PATH.
test-deps:
	@command -v moto_server >/dev/null 2>&1 || pip install --quiet 'moto[server]' >/dev/null 2>&1 || { \
	  echo "make: moto_server not found and could not be installed."; \
	  echo "      install it with: pip install 'moto[server]'  (or set MOTO_SERVER=/path/to/moto_server)"; exit 1; }
	$(GO) mod download

test: test-deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

bench: test-deps
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...

# Each fuzz target for FUZZTIME (go test -fuzz takes one target at a time).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for fn in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$fn"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

ACTIONLINT ?= github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(ACTIONLINT) -shellcheck= -pyflakes= testdata/workflows/*.yml

demo: build
	@bash testdata/demo/run.sh $(BIN)

clean:
	rm -rf bin

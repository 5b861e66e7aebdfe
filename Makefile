# envsync — the targets a newcomer guesses.
GO      ?= go
BIN     ?= bin/envsync
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/envsync/envsync.Version=$(VERSION)
FUZZTIME ?= 20s

.PHONY: build test test-deps test-faults bench fuzz lint demo clean image image-check release-snapshot release-check

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/envsync

# Tests talk to a real AWS API endpoint (moto_server). test-deps installs
# nothing: it checks that moto_server is there and says how to get it.
test-deps:
	@command -v $${MOTO_SERVER:-moto_server} >/dev/null 2>&1 || { \
	  echo "make: moto_server not found (the tests run against it: a real AWS API on loopback)."; \
	  echo "      install it, e.g. in a virtualenv: python3 -m venv .venv && .venv/bin/pip install 'moto[server]'"; \
	  echo "      then put it on PATH or set MOTO_SERVER=/path/to/moto_server"; exit 1; }
	$(GO) mod download

test: test-deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

# The fault-injection suite alone (it also runs in make test): moto behind a
# proxy that loses replies, drops requests, hangs and throttles.
test-faults: test-deps
	$(GO) test -count=1 -timeout 10m -run '^TestFault' -v ./cmd/envsync

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

# The container image, without a Docker engine or a registry: a static envsync
# for linux/amd64 and linux/arm64 on an empty base, non-root, as an OCI archive
# (load it with `docker load`, push it with `crane push` or `skopeo copy oci-archive:…`).
IMAGE   ?= bin/envsync-image.tar
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64

image:
	cd .ci/image && $(GO) run . -repo ../.. -version '$(VERSION)' -platforms '$(IMAGE_PLATFORMS)' -out '$(abspath $(IMAGE))'

# Opens the archive, checks user, platforms and labels, runs the amd64 entrypoint's --version.
image-check: image
	cd .ci/image && ENVSYNC_IMAGE='$(abspath $(IMAGE))' ENVSYNC_IMAGE_VERSION='$(VERSION)' $(GO) test -count=1 .

# Release archives (linux/darwin × amd64/arm64, windows/amd64) and checksums in dist/,
# with goreleaser installed from the Go module proxy at a pinned version.
GORELEASER_VERSION ?= v2.16.0
GORELEASER ?= bin/tools/goreleaser

$(GORELEASER):
	GOBIN='$(abspath $(dir $(GORELEASER)))' $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

release-snapshot: $(GORELEASER)
	$(GORELEASER) release --snapshot --clean --skip=publish

# Runs the linux/amd64 binary from its archive, checks every archive against the
# checksums, and runs the Action's install step against the archives.
release-check: release-snapshot
	cd .ci/release && ENVSYNC_DIST='$(abspath dist)' $(GO) test -count=1 .
	ENVSYNC_DIST='$(abspath dist)' $(GO) test -count=1 -run '^TestActionInstall$$' ./cmd/envsync

clean:
	rm -rf bin dist

# The verbs a person uses. `make test` is what CI runs (via .ci/run).
SHELL := /bin/bash
PORT ?= 7777
CARGO ?= cargo
AGENTD_BIN := $(CURDIR)/target/debug/agentd
NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: build release test unit lint fmt run bench demo schema clean

build:
	$(CARGO) build --workspace --bins

release:
	$(CARGO) build --release --workspace --bins

## Every test: formatting, lints, unit tests and end-to-end tests against the real binary.
test: build lint
ifeq ($(NEXTEST),yes)
	AGENTD_BIN=$(AGENTD_BIN) $(CARGO) nextest run --workspace --no-fail-fast
else
	AGENTD_BIN=$(AGENTD_BIN) $(CARGO) test --workspace --no-fail-fast
endif

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Start the daemon on a WebSocket port for a first session.
run: release
	@echo "agentd: connect a client to ws://127.0.0.1:$(PORT) (health: http://127.0.0.1:$(PORT)/healthz)"
	@echo "        e.g.  websocat ws://127.0.0.1:$(PORT)   (README.md has a first session to paste)"
	./target/release/agentd serve --listen ws://127.0.0.1:$(PORT)

## Benchmarks (release build); prints figures to stdout.
bench:
	$(CARGO) build --release --workspace --bins
	AGENTD_BIN=$(CURDIR)/target/release/agentd $(CARGO) run --release -p agentd-tests --bin agentd-bench -- all

## A full streamed turn against the scripted mock model: no API key needed.
demo: build
	./target/debug/agentd-demo

clean:
	$(CARGO) clean

# The verbs a person uses. `make test` is what CI runs (via .ci/run).
SHELL := /bin/bash
PORT ?= 7777
CARGO ?= cargo
AGENTD_BIN := $(CURDIR)/target/debug/agentd
NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: build release test unit lint fmt run bench demo schema schema-tsc fuzz ts-test web-build web-test interop-test clean

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
	$(MAKE) --no-print-directory ts-test
	$(MAKE) --no-print-directory web-test
	$(MAKE) --no-print-directory interop-test

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Start the daemon on a WebSocket port for a first session (README.md). It prints a one-time
## token, the web page's address with it, and where the token file is (agentd client and
## agentd-tui read it).
run: release
	./target/release/agentd serve --listen ws://127.0.0.1:$(PORT)

## Benchmarks (release build); prints figures to stdout.
bench:
	$(CARGO) build --release --workspace --bins
	AGENTD_BIN=$(CURDIR)/target/release/agentd $(CARGO) run --release -p agentd-tests --bin agentd-bench -- all
	$(CARGO) bench -p agentd-tui --bench render

## The thin clients against one daemon and the scripted mock model, no API key needed: the
## TypeScript SDK runs a turn (a command, its approval, streamed text; skipped without Node), the
## web page's address is printed, and on a terminal the TUI opens on the same daemon (Ctrl-Q
## ends the demo). See tests/src/bin/agentd-demo.rs.
demo: build
	./target/debug/agentd-demo

## Regenerate schema/ from the Rust types in protocol/: JSON Schema (schema/json), TypeScript
## (schema/typescript), the compatibility snapshot (schema/compat); then type-check the TypeScript.
schema:
	$(CARGO) build -p agentd --bin agentd
	rm -rf schema/json schema/typescript
	$(AGENTD_BIN) generate-json-schema --out schema/json --compat schema/compat
	$(AGENTD_BIN) generate-ts --out schema/typescript
	$(MAKE) --no-print-directory schema-tsc

## `tsc --strict` over schema/typescript (TypeScript from schema/package-lock.json, via npm ci).
schema-tsc:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "schema-tsc: npm not found; TypeScript not type-checked"; \
	else \
		test -x schema/node_modules/.bin/tsc || (cd schema && npm ci --no-audit --no-fund); \
		cd schema && ./node_modules/.bin/tsc -p tsconfig.json && echo "schema-tsc: tsc --strict ok"; \
	fi

## Fuzzing (tests/fuzz): each cargo-fuzz target for FUZZ_SECS seconds on nightly (cargo-fuzz is
## installed if missing; new inputs go to target/fuzz-corpus, crashes to tests/fuzz/artifacts).
## Without a nightly toolchain: the stable smoke fuzzer over the same entry points, as long.
FUZZ_SECS ?= 60
FUZZ_TARGETS := rpc_frame sse model_fold apply_patch exec_policy
fuzz:
	@if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then \
		$(CARGO) +nightly fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked || exit 1; \
		for t in $(FUZZ_TARGETS); do \
			mkdir -p target/fuzz-corpus/$$t; \
			$(CARGO) +nightly fuzz run --fuzz-dir tests/fuzz $$t target/fuzz-corpus/$$t tests/fuzz/corpus/$$t \
				-- -max_total_time=$(FUZZ_SECS) -max_len=65536 || exit 1; \
		done; \
	else \
		echo "fuzz: no nightly toolchain; running the stable smoke fuzzer for $(FUZZ_SECS) s per target"; \
		AGENTD_FUZZ_SECS=$(FUZZ_SECS) $(CARGO) test -p agentd-tests --test e2e fuzz_smoke -- --nocapture; \
	fi

## The TypeScript SDK (clients/typescript): npm ci, tsc, then `node --test` against the built
## daemon and mock model. Skipped, saying why, only when node/npm are missing.
ts-test: build
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		echo "ts-test: SKIPPED: node/npm not found (install Node.js >= 18 to test clients/typescript)"; \
	else \
		cd clients/typescript && npm ci --no-audit --no-fund && npm run build && \
		AGENTD_BIN=$(AGENTD_BIN) MOCK_LLM_BIN=$(CURDIR)/target/debug/mock-llm npm test; \
	fi

## Rebuild clients/web/embed/ (checked in; the daemon embeds it, see daemon/src/transport/web_assets.rs)
## from the SDK and the page's TypeScript. Then `make build` to embed it.
web-build:
	cd clients/typescript && npm ci --no-audit --no-fund && npm run build
	cd clients/web && npm ci --no-audit --no-fund && npm run build

## The web page end to end in headless Chromium (playwright-core driving /usr/bin/chromium, or
## $$CHROMIUM_PATH): checks that the checked-in clients/web/embed/ is fresh, then two pages on one
## thread. Screenshots go to clients/web/test-artifacts/. Skipped, saying why, only when node/npm
## or Chromium are missing (.ci/run installs Chromium).
web-test: build
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		echo "web-test: SKIPPED: node/npm not found (install Node.js >= 18 to test clients/web)"; \
	elif [ ! -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then \
		echo "web-test: SKIPPED: no Chromium at $${CHROMIUM_PATH:-/usr/bin/chromium} (apt-get install chromium)"; \
	else \
		(cd clients/typescript && { test -d node_modules || npm ci --no-audit --no-fund; } && npm run build) && \
		cd clients/web && npm ci --no-audit --no-fund && npm run check && \
		AGENTD_BIN=$(AGENTD_BIN) MOCK_LLM_BIN=$(CURDIR)/target/debug/mock-llm npm test; \
	fi

## agentd against clients and servers nobody here wrote (tests/node): Codex's TypeScript SDK
## driving `agentd exec`, the ACP client SDK driving `agentd acp` and, through Codex's ACP adapter
## (codex-acp), `agentd app-server`. Packages pinned by tests/node/package-lock.json (installed
## again when it is newer than node_modules); the optional native Codex binaries are not
## installed (--omit=optional: agentd is the binary they would run).
interop-test: build
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		echo "interop-test: SKIPPED: node/npm not found (install Node.js >= 18)"; \
	else \
		cd tests/node && { test node_modules/.package-lock.json -nt package-lock.json || npm ci --omit=optional --no-audit --no-fund; } && \
		AGENTD_BIN=$(AGENTD_BIN) MOCK_LLM_BIN=$(CURDIR)/target/debug/mock-llm npm test; \
	fi

clean:
	$(CARGO) clean

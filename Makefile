# bitmark-node: every set-up step lives here, so a fresh Debian machine (or CI's clean clone)
# needs only `make demo` or `make test`.

SHELL := /bin/bash
CARGO ?= cargo
# apt-get through sudo only when we are not already root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := target/release/bitmark-node
FUZZ_SECONDS ?= 60
# Extra `cargo fuzz run` flags: the smoke run builds unoptimised (`--dev`), which compiles in a
# fraction of the time of the optimised sanitizer build that long runs use.
FUZZ_FLAGS ?=

.PHONY: all deps build demo test lint fuzz fuzz-smoke bench bench-criterion soak clean

all: build

# libzmq with CURVE (the vendored build of the zmq crate has none) and pkg-config to find it.
deps:
	@if ! pkg-config --exists libzmq 2>/dev/null; then \
		echo "installing libzmq3-dev and pkg-config"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libzmq3-dev pkg-config >/dev/null; \
	fi
	@pkg-config --exists libzmq || { echo "libzmq still missing"; exit 1; }

build: deps
	$(CARGO) build --release --locked

# Decode both genesis blocks with full stateless checks, then the main job: a six-node local
# network on loopback syncing a 30-block test chain (well under two minutes on two cores).
DEMO_NODES ?= 6
DEMO_BLOCKS ?= 30
demo: build
	@for chain in bitmark testing; do \
		echo "== $$chain genesis block"; \
		$(BIN) genesis --chain $$chain | $(BIN) decode block --chain $$chain --pretty - || exit 1; \
	done
	@echo "== testnet: $(DEMO_NODES) nodes syncing a $(DEMO_BLOCKS)-block local chain"
	$(BIN) testnet --nodes $(DEMO_NODES) --blocks $(DEMO_BLOCKS) --pretty

test: deps lint
	$(CARGO) test --workspace --locked
	$(MAKE) fuzz-smoke

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# cargo-fuzz needs nightly features; the stable toolchain provides them with RUSTC_BOOTSTRAP.
FUZZ_ENV := RUSTC_BOOTSTRAP=1
fuzz-tool:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked

# Long runs: every target for FUZZ_SECONDS each.
fuzz: fuzz-tool
	@for t in $$(cd fuzz && $(FUZZ_ENV) cargo fuzz list); do \
		echo "== fuzz $$t ($(FUZZ_SECONDS)s)"; \
		(cd fuzz && $(FUZZ_ENV) cargo fuzz run $(FUZZ_FLAGS) $$t -- -max_total_time=$(FUZZ_SECONDS)) || exit 1; \
	done

# The short version CI runs inside `make test`.
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=$${FUZZ_SMOKE_SECONDS:-10} FUZZ_FLAGS=--dev

# Every bench of the release binary beside its same-run reference, and the table for
# BENCHMARKS.md (scripts/benchmarks.sh; about 6 minutes on two cores once built, most of it
# building and syncing a 500-block chain for the memory figure). The binary is built with the
# `bench` feature: `bench sync` and `bench listener` run on the peer crate's simulation and
# fakes, which the product binary (`make build`) leaves out.
bench: deps
	$(CARGO) build --release --locked --features bench
	scripts/benchmarks.sh

# The criterion micro-benchmarks of the crates.
bench-criterion: deps
	$(CARGO) bench --workspace

# Long runs: a node under a steady stream of pushes for SOAK_SECONDS (its memory must stay flat
# after warm-up), the crash loop with 100 kills, the hostile-peer suites at full size
# (floods of 100 000 messages, 10 000 reconnecting clients, a push flood past the reservoir's
# 20 000 free issues), and the emulated-link scenarios at full size (six nodes in three
# regions, a partition of six producing and following nodes, 200 blocks behind a 300 ms link
# that stalls and resets).
SOAK_SECONDS ?= 180
soak: build
	$(BIN) bench soak --seconds $(SOAK_SECONDS)
	$(CARGO) test --locked -p bitmark-tests --test crash_loop -- --ignored --nocapture
	$(CARGO) test --locked -p bitmark-peer --test hostile -- --ignored --nocapture
	$(CARGO) test --locked -p bitmark-tests --test hostile -- --ignored --nocapture
	$(CARGO) test --locked -p bitmark-tests --test links -- --ignored --nocapture

clean:
	$(CARGO) clean

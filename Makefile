# bitmark-node: every set-up step lives here, so a fresh Debian machine (or CI's clean clone)
# needs only `make demo` or `make test`.

SHELL := /bin/bash
CARGO ?= cargo
# apt-get through sudo only when we are not already root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := target/release/bitmark-node
FUZZ_SECONDS ?= 60
# Executions per fuzz target instead of a time (libFuzzer's -runs), e.g. FUZZ_RUNS=10000000 for
# the depth figures of BENCHMARKS.md; FUZZ_TARGETS picks targets (default: every one).
FUZZ_RUNS ?=
FUZZ_TARGETS ?=
# Extra `cargo fuzz run` flags: the smoke run builds unoptimised (`--dev`), which compiles in a
# fraction of the time of the optimised sanitizer build that long runs use.
FUZZ_FLAGS ?=

.PHONY: all deps build demo test lint fuzz fuzz-depth fuzz-smoke fuzz-cmin bench bench-scale bench-criterion soak clean

all: build

# libzmq with CURVE (the vendored build of the zmq crate has none) and pkg-config to find it;
# a C compiler for the Lua 5.1 that `config import` builds in (vendored by the mlua crate; the
# Rust toolchain needs one to link anyway).
deps:
	@command -v cc >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gcc libc6-dev >/dev/null; }
	@if ! pkg-config --exists libzmq 2>/dev/null; then \
		echo "installing libzmq3-dev and pkg-config"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libzmq3-dev pkg-config >/dev/null; \
	fi
	@pkg-config --exists libzmq || { echo "libzmq still missing"; exit 1; }
	@# aws-lc-rs (rustls' crypto provider, for bitmarkd's ECDSA P-521 RPC keys) builds C with cc.
	@# openssl makes a bitmarkd-style P-521 certificate pair in tests/tests/it/rpc.rs.
	@command -v cc >/dev/null && command -v openssl >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gcc openssl >/dev/null; }

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

# The corpus: fuzz/corpus/<target> is committed, minimised (`make fuzz-cmin`), and read by
# every run; what a run finds goes to fuzz/target/found/<target> (not committed).
FUZZ_LIMIT = $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))
FUZZ_LIST = $(or $(FUZZ_TARGETS),$$(cd fuzz && $(FUZZ_ENV) cargo fuzz list))

# Long runs: every target for FUZZ_SECONDS (or FUZZ_RUNS executions) each, from the committed
# corpus.
fuzz: fuzz-tool
	@for t in $(FUZZ_LIST); do \
		echo "== fuzz $$t ($(FUZZ_LIMIT))"; \
		mkdir -p fuzz/target/found/$$t fuzz/corpus/$$t; \
		(cd fuzz && $(FUZZ_ENV) cargo fuzz run $(FUZZ_FLAGS) $$t target/found/$$t corpus/$$t -- \
			$(FUZZ_LIMIT) -print_final_stats=1) || exit 1; \
	done

# Fold what the runs found into the committed corpus and minimise it (`cargo fuzz cmin`): only
# inputs that add coverage stay.
fuzz-cmin: fuzz-tool
	@for t in $(FUZZ_LIST); do \
		echo "== cmin $$t"; \
		mkdir -p fuzz/target/found/$$t fuzz/corpus/$$t; \
		cp -n fuzz/target/found/$$t/* fuzz/corpus/$$t/ 2>/dev/null || true; \
		(cd fuzz && $(FUZZ_ENV) cargo fuzz cmin $(FUZZ_FLAGS) $$t corpus/$$t) || exit 1; \
	done

# Depth: every target to FUZZ_RUNS executions (default 10 million, the figures of BENCHMARKS.md),
# optimised with overflow checks and debug assertions on but without AddressSanitizer: the
# targets reach only safe Rust, where ASan finds nothing a panic would not, at a fifth of the
# speed. Then `make fuzz-cmin FUZZ_FLAGS="--sanitizer none --debug-assertions"` to keep what it found.
fuzz-depth:
	$(MAKE) fuzz FUZZ_RUNS=$(or $(FUZZ_RUNS),10000000) FUZZ_FLAGS="--sanitizer none --debug-assertions"

# The short version CI runs inside `make test`, from the committed corpus.
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

# Sync at scale (BENCHMARKS.md's at-scale table): real nodes syncing a 5 000-block chain over
# loopback and emulated links of 50, 150 and 300 ms. About 40 minutes on two cores, plus half an
# hour the first time to generate the chain into target/testchains.
SCALE_TAIL ?= 300
bench-scale: deps
	$(CARGO) build --release --locked --features bench
	target/release/bitmark-node bench scale --blocks 5001 --tail $(SCALE_TAIL)

# The criterion micro-benchmarks of the crates.
bench-criterion: deps
	$(CARGO) bench --workspace

# Long runs: a node under a steady stream of pushes for SOAK_SECONDS (its memory must stay flat
# after warm-up), the crash loop with 100 kills, the hostile-peer suites at full size
# (floods of 100 000 messages, 10 000 reconnecting clients, a push flood past the reservoir's
# 20 000 free issues, eight clients pipelining 10 000 `B` of a 1.6 MB block and never reading),
# and the emulated-link scenarios at full size (six nodes in three regions, a partition of six
# producing and following nodes, 200 blocks behind a 300 ms link that stalls and resets).
SOAK_SECONDS ?= 180
soak: build
	$(BIN) bench soak --seconds $(SOAK_SECONDS)
	$(CARGO) test --locked -p bitmark-tests --test it -- --ignored --nocapture crash_loop::
	$(CARGO) test --locked -p bitmark-peer --test it -- --ignored --nocapture hostile::
	$(CARGO) test --locked -p bitmark-peer --test reply_bound -- --ignored --nocapture
	$(CARGO) test --locked -p bitmark-tests --test it -- --ignored --nocapture hostile::
	$(CARGO) test --locked -p bitmark-tests --test it -- --ignored --nocapture links::

clean:
	$(CARGO) clean

# rota — the two set-up commands are `make run` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
DB ?= rota.db

.PHONY: deps build run test reliability bench fuzz clean

deps:
	@./scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@./scripts/run-server $(BUILD)/rota $(DB) $(LISTEN)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The reliability suite in its full form (20 kills under load, every bad input, isolation).
reliability: build
	@cd $(BUILD) && ROTA_RELIABILITY_FULL=1 ctest -L reliability --output-on-failure --timeout 1800

bench: deps
	@cmake -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=Release -DROTA_BUILD_TESTS=OFF >/dev/null
	@cmake --build $(BUILD)/release -j $(JOBS) --target rota rota_bench_core rota_bench_service rota_bench_bare_http
	@./scripts/bench $(BUILD)

# libFuzzer targets (clang, ASan, UBSan) in $(BUILD)/fuzz, FUZZ_SECONDS each (docs/fuzzing.md).
fuzz: deps
	@./scripts/fuzz $(BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD)

# bench/bench.mk — `make bench` (included by the Makefile; not part of
# `make test`). Builds an optimised receiver and worker into build-bench/
# (-O2 -DNDEBUG, no -march=native: figures for the binary that ships), the
# load tools under build-bench/bench/, and runs bench/run.sh, which prints
# the results table. See docs/performance.md.

BENCH_BUILD := build-bench
BENCH_TOOLS := $(BENCH_BUILD)/bench/gen $(BENCH_BUILD)/bench/rate $(BENCH_BUILD)/bench/freeport \
	$(BENCH_BUILD)/bench/noop $(BENCH_BUILD)/bench/noop_persistent \
	$(BENCH_BUILD)/bench/nullredis $(BENCH_BUILD)/bench/plain

bench: deps
	@sh scripts/install-bench-deps.sh
	@$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) OPT='-O2 -DNDEBUG' \
		$(BENCH_BUILD)/hookd-receiver $(BENCH_BUILD)/hookd-worker
	@$(MAKE) --no-print-directory bench-tools
	BENCH_BIN=$(BENCH_BUILD) bash bench/run.sh

bench-tools: $(BENCH_TOOLS)

# The load tools link tools/ (the one signer, free ports) from the normal
# build's libtools.a.
$(BENCH_BUILD)/bench/gen: bench/gen.c $(LIBTOOLS)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -Itools -o $@ $^ $(shell pkg-config --libs libcrypto)

$(BENCH_BUILD)/bench/noop: bench/noop.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -o $@ $<

$(BENCH_BUILD)/bench/noop_persistent: bench/noop_persistent.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -static -o $@ $<

$(BENCH_BUILD)/bench/freeport: tools/freeport.c $(LIBTOOLS)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -Itools -o $@ $^

$(BENCH_BUILD)/bench/plain: bench/plain.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -o $@ $< -pthread \
		$(shell pkg-config --libs libmicrohttpd hiredis libcrypto)

# The enqueue step alone (store_enqueue_many against Redis, no HTTP): for
# before/after comparisons of Redis's cost per event (docs/performance.md).
bench-enqstep: deps
	@$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) OPT='-O2 -DNDEBUG' \
		$(BENCH_BUILD)/libhookd.a $(BENCH_BUILD)/bench/enqstep

$(BENCH_BUILD)/bench/enqstep: bench/enqstep.c $(BENCH_BUILD)/libhookd.a
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) $(addprefix -I,$(COMMON_DIRS)) $(PKG_CFLAGS) -o $@ $^ \
		$(LIBS_COMMON)

$(BENCH_BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -o $@ $<

.PHONY: bench-tools bench-enqstep

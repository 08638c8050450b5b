# tests/fuzz/fuzz.mk — fuzz targets; included by the Makefile.
#
#   make fuzz                  build each target with clang + libFuzzer, ASan,
#                              UBSan, and run it FUZZ_SECONDS (default 30)
#   make fuzz FUZZ_TARGETS=config FUZZ_SECONDS=300
#   make fuzz-replay           gcc builds with a plain main (replay.c)
#
# `make test` needs none of this: the targets are linked into build/tests,
# whose test_fuzz_corpus replays tests/fuzz/corpus/TARGET/* through them.
# New inputs found by `make fuzz` go to $(FUZZ_BUILD)/corpus/TARGET; crashers
# to $(FUZZ_BUILD)/crash-TARGET-*. Copy a crasher into the committed corpus
# once it is fixed.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_BUILD ?= build-fuzz
FUZZ_LIB_SRC := tests/fuzz/fuzz_common.c tests/fuzz/targets.c
FUZZ_TARGET_SRC := $(filter-out $(FUZZ_LIB_SRC),$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_ALL := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_TARGET_SRC))
FUZZ_TARGETS ?= $(FUZZ_ALL)

# ---- the targets inside build/tests (gcc, the normal build) ----
# The archive is named again after the fuzz objects, which come last in $^.
$(BUILD)/tests: $(call obj,$(FUZZ_LIB_SRC) $(FUZZ_TARGET_SRC))
$(BUILD)/tests: LIBS_COMMON := $(LIBHOOKD) $(LIBS_COMMON)

# ---- libFuzzer builds (clang) ----
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -O1 -g $(WARN) -MMD -MP $(addprefix -I,$(COMMON_DIRS)) -Itests/fuzz $(PKG_CFLAGS) \
               $(FUZZ_SAN) -fsanitize=fuzzer-no-link -DFUZZ_LIBFUZZER
fuzz_obj = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/libhookd.a: $(call fuzz_obj,$(COMMON_SRC))
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(call fuzz_obj,tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.c) $(FUZZ_BUILD)/libhookd.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LIBS_COMMON) -lm

# Objects made through pattern rules are kept between runs.
.SECONDARY: $(call fuzz_obj,$(FUZZ_TARGET_SRC) tests/fuzz/fuzz_common.c) \
            $(patsubst %.c,$(BUILD)/obj/fuzz-replay/%.o,$(FUZZ_TARGET_SRC) tests/fuzz/fuzz_common.c)

.PHONY: fuzz fuzz-build fuzz-replay
fuzz-build:
	@sh scripts/install-fuzz-deps.sh
	@$(MAKE) --no-print-directory $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_TARGETS))

# Each target runs FUZZ_SECONDS on its committed seeds; stops at the first crash.
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	    $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- \
	        $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t 2>$(FUZZ_BUILD)/$$t.log \
	        || { tail -40 $(FUZZ_BUILD)/$$t.log; exit 1; }; \
	    grep -E '^stat::number_of_executed_units|^stat::new_units_added' $(FUZZ_BUILD)/$$t.log; \
	done

# ---- replay binaries: the plain main of replay.c, built by $(CC) ----
$(BUILD)/obj/fuzz-replay/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz -DFUZZ_LIBFUZZER -c $< -o $@

$(BUILD)/fuzz/replay_%: $(BUILD)/obj/fuzz-replay/tests/fuzz/fuzz_%.o \
		$(BUILD)/obj/fuzz-replay/tests/fuzz/fuzz_common.o $(BUILD)/obj/tests/fuzz/replay.o $(LIBHOOKD)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COMMON)

fuzz-replay: $(addprefix $(BUILD)/fuzz/replay_,$(FUZZ_ALL))

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)

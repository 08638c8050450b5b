# hookd — one Makefile. See README.md for the targets.
#   make                 build the three binaries into build/
#   make test            install missing packages, build, run every test
#   make run             install, build, start redis + receiver + worker
#   make install         binaries, man pages, units, /etc/hookd (deploy/install.mk)
#   make SANITIZER=address,undefined test   (or: make test-asan)

CC ?= cc
SANITIZER ?=
OPT ?= -O2
BUILD ?= $(if $(SANITIZER),build-san,build)

PKGS_COMMON := hiredis jansson libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS_COMMON) libmicrohttpd libcurl 2>/dev/null)
LIBS_COMMON := $(shell pkg-config --libs $(PKGS_COMMON) 2>/dev/null) -lpthread -lm
LIBS_MHD := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
LIBS_CURL := $(shell pkg-config --libs libcurl 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wwrite-strings -Wshadow -Wno-unused-parameter
# The layers of common/ (docs/architecture.md); each folder is on the include
# path, and scripts/check.sh holds which layer may include which.
COMMON_DIRS := $(shell find common -mindepth 1 -type d | sort)
CFLAGS := -std=gnu11 $(OPT) -g $(WARN) -MMD -MP $(addprefix -I,$(COMMON_DIRS)) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(EXTRA_LDFLAGS)
ifneq ($(SANITIZER),)
CFLAGS += -fsanitize=$(SANITIZER) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZER)
endif

COMMON_SRC := $(shell find common -name '*.c' | sort)
RECEIVER_SRC := $(wildcard receiver/*.c receiver/admin/*.c)
WORKER_SRC := $(wildcard workers/*.c workers/runners/*.c)
HOOKCTL_SRC := $(wildcard hookctl/*.c)
TEST_SRC := $(wildcard tests/lib/*.c tests/unit/*.c tests/integration/*.c)
TOOL_SRC := $(wildcard tests/tools/*.c)
# tools/: what the tests, make bench and make burst share (the signer, free
# ports), as one archive; freeport.c is a program of its own.
TOOLS_LIB_SRC := $(filter-out tools/freeport.c,$(wildcard tools/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBHOOKD := $(BUILD)/libhookd.a
# The receiver, the worker and hookctl without their main(): the tests link
# these archives, never the programs' .c files.
LIBRECEIVER := $(BUILD)/libreceiver.a
LIBWORKER := $(BUILD)/libworker.a
LIBHOOKCTL := $(BUILD)/libhookctl.a
LIBTOOLS := $(BUILD)/libtools.a
BINS := $(BUILD)/hookd-receiver $(if $(WORKER_SRC),$(BUILD)/hookd-worker) $(if $(HOOKCTL_SRC),$(BUILD)/hookctl)
TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))

.PHONY: all deps browser-deps test-deps test test-asan soak-failover run stop check clean fuzz bench
all: $(BINS) $(BUILD)/tests $(TOOLS)

$(BUILD)/obj/receiver/%.o: CFLAGS += -Ireceiver -Ireceiver/admin
$(BUILD)/obj/workers/%.o: CFLAGS += -Iworkers -Iworkers/runners
$(BUILD)/obj/tests/%.o: CFLAGS += -Itests/lib -Itools -Ireceiver -Iworkers -Iworkers/runners -Ihookctl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBHOOKD): $(call obj,$(COMMON_SRC))
	@rm -f $@
	ar rcs $@ $^

$(LIBRECEIVER): $(call obj,$(filter-out receiver/main.c,$(RECEIVER_SRC)))
	@rm -f $@
	ar rcs $@ $^

$(LIBWORKER): $(call obj,$(filter-out workers/main.c,$(WORKER_SRC)))
	@rm -f $@
	ar rcs $@ $^

$(LIBHOOKCTL): $(call obj,$(filter-out hookctl/main.c,$(HOOKCTL_SRC)))
	@rm -f $@
	ar rcs $@ $^

$(LIBTOOLS): $(call obj,$(TOOLS_LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/hookd-receiver: $(call obj,$(RECEIVER_SRC)) $(LIBHOOKD)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_MHD) $(LIBS_COMMON)

$(BUILD)/hookd-worker: $(call obj,$(WORKER_SRC)) $(LIBHOOKD)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_COMMON)

$(BUILD)/hookctl: $(call obj,$(HOOKCTL_SRC)) $(LIBHOOKD)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_COMMON)

$(BUILD)/tests: $(call obj,$(TEST_SRC)) $(LIBRECEIVER) $(LIBWORKER) $(LIBHOOKCTL) $(LIBTOOLS) \
		$(LIBHOOKD)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_MHD) $(LIBS_CURL) $(LIBS_COMMON)

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(LIBTOOLS) $(LIBHOOKD)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_MHD) $(LIBS_CURL) $(LIBS_COMMON)

deps:
	@sh scripts/install-deps.sh

# The dashboard's browser test: Debian's chromium and playwright-core from npm.
browser-deps: deps
	@sh scripts/install-browser-deps.sh

# The runner prints "N passed, M failed" last and exits non-zero on failure.
# make test's own needs: the browser test's, and promtool for /metrics.
test-deps: deps
	@sh scripts/install-test-deps.sh

test: deps test-deps
	@$(MAKE) --no-print-directory all
	@sh scripts/check.sh
	$(BUILD)/tests $(T)

test-asan:
	@$(MAKE) --no-print-directory SANITIZER=address,undefined test

# The Sentinel failover tests SOAK_RUNS times (20) under CPU load; not in `make test`.
soak-failover: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/soak-failover.sh

# make run [CONF=FILE]: only the three programs are built before the banner.
run: deps
	@$(MAKE) --no-print-directory $(BINS)
	@CONF='$(CONF)' sh scripts/run.sh

stop:
	@sh scripts/run.sh stop

check:
	@sh scripts/check.sh

clean:
	rm -rf build build-san

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include tests/fuzz/fuzz.mk
include deploy/test.mk
include deploy/install.mk
-include bench/bench.mk
include burst/burst.mk

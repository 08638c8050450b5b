# burst/burst.mk — `make burst`: the burst drill (included by the Makefile;
# not part of `make test`). Builds the binaries and the drill's tools
# (loadgen: the flooding provider; sink: the handler, BURST_HANDLER_MS per
# event; freeport) into $(BUILD), then runs burst/run.sh, which starts its
# own Redis, receiver and workers, floods, drains, stops them and prints the
# figures. Settings are environment variables (see burst/run.sh, and
# docs/backpressure.md for what the figures mean):
#
#   make burst                                   100 000 events, defaults
#   make burst BURST_EVENTS=10000                a quick run
#   make burst BURST_HANDLER_MS=5 BURST_WORKERS=4

BURST_TOOLS := $(BUILD)/burst/loadgen $(BUILD)/burst/sink $(BUILD)/burst/freeport

$(BUILD)/burst/loadgen: burst/loadgen.c $(LIBTOOLS)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -Itools -o $@ $^ $(shell pkg-config --libs libcrypto 2>/dev/null)

$(BUILD)/burst/sink: burst/sink.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -o $@ $< $(LIBS_MHD) -lpthread

$(BUILD)/burst/freeport: tools/freeport.c $(LIBTOOLS)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -Itools -o $@ $^

.PHONY: burst burst-tools
burst-tools: $(BURST_TOOLS)

burst: deps
	@$(MAKE) --no-print-directory $(BUILD)/hookd-receiver $(BUILD)/hookd-worker burst-tools
	BURST_BIN=$(BUILD) bash burst/run.sh

# deploy/test.mk — `make test-deploy`: the deployment tests in tests/deploy/
# (real nginx with TLS, Redis replication, Sentinel failover, Redis Cluster),
# all on loopback ports, a few minutes at most. Included by the Makefile;
# uses its BUILD, obj, LIBHOOKD and LIBS_* variables.
#
#   make test-deploy                      all of them
#   make test-deploy T=deploy_cluster_*   some of them

DEPLOY_TEST_SRC := $(wildcard tests/deploy/*.c) tests/lib/topology.c
DEPLOY_TEST_LIB_SRC := $(wildcard tests/lib/*.c)

$(BUILD)/deploy-tests: $(call obj,$(DEPLOY_TEST_LIB_SRC) $(DEPLOY_TEST_SRC)) $(LIBTOOLS) $(LIBHOOKD)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_MHD) $(LIBS_CURL) $(LIBS_COMMON)

.PHONY: test-deploy
test-deploy: deps
	@sh scripts/install-deploy-deps.sh
	@$(MAKE) --no-print-directory all $(BUILD)/deploy-tests
	$(BUILD)/deploy-tests $(T)

/*
 * fuzz.h — hookd's fuzz targets, one per parser that sees untrusted bytes.
 *
 * Each target file defines `int fuzz_NAME(const uint8_t *data, size_t size)`
 * and, when built with -DFUZZ_LIBFUZZER (make fuzz, clang), the libFuzzer
 * entry point LLVMFuzzerTestOneInput calling it. Without that flag the same
 * functions are linked into build/tests, whose test_fuzz_corpus replays the
 * committed corpus tests/fuzz/corpus/NAME/ through them (as jansson's
 * test/ossfuzz does), so `make test` needs no clang.
 *
 * A target honours its callee's contract (length-delimited bytes, a loaded
 * config), checks the callee's promises on the way out, and calls abort()
 * when one is broken, which both libFuzzer and the replay test report.
 */
#ifndef HOOKD_FUZZ_H
#define HOOKD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int fuzz_scheme_github(const uint8_t *data, size_t size);
int fuzz_scheme_stripe(const uint8_t *data, size_t size);
int fuzz_scheme_shopify(const uint8_t *data, size_t size);
int fuzz_scheme_slack(const uint8_t *data, size_t size);
int fuzz_scheme_standard(const uint8_t *data, size_t size);
int fuzz_scheme_hmac(const uint8_t *data, size_t size);
int fuzz_scheme_discord(const uint8_t *data, size_t size);
int fuzz_scheme_sendgrid(const uint8_t *data, size_t size);
int fuzz_scheme_standard_v1a(const uint8_t *data, size_t size);
int fuzz_scheme_paddle(const uint8_t *data, size_t size);
int fuzz_scheme_zoom(const uint8_t *data, size_t size);
int fuzz_scheme_meta(const uint8_t *data, size_t size);
int fuzz_scheme_twitch(const uint8_t *data, size_t size);
int fuzz_scheme_token(const uint8_t *data, size_t size);
int fuzz_scheme_twilio(const uint8_t *data, size_t size);
int fuzz_form(const uint8_t *data, size_t size);
int fuzz_extract(const uint8_t *data, size_t size);
int fuzz_config(const uint8_t *data, size_t size);
int fuzz_log_escape(const uint8_t *data, size_t size);
int fuzz_forwarded_for(const uint8_t *data, size_t size);

/* The targets by name, for the corpus replay. */
struct fuzz_target {
    const char *name; /* also the corpus directory's name */
    int (*fn)(const uint8_t *data, size_t size);
};
extern const struct fuzz_target fuzz_targets[];
extern const size_t fuzz_ntargets;

#ifdef FUZZ_LIBFUZZER
#define FUZZ_ENTRY(fn)                                                                             \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                  \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                   \
    {                                                                                              \
        return fn(data, size);                                                                     \
    }
#else
#define FUZZ_ENTRY(fn)
#endif

#endif

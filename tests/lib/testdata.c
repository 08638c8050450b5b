/*
 * testdata.c — see testdata.h. Test-only code: aborts the test (via
 * test_fail) where a unit test could not go on anyway.
 */
#include "testdata.h"

#include <openssl/evp.h>

#include "err.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scheme.h"
#include "test.h"

int testdata_path(const char *rel, char *out, size_t cap)
{
    const char *env = getenv("HOOKD_TEST_DATA");
    char exe[PATH_MAX];
    ssize_t n;
    char *slash;
    int w;

    if (env && *env) {
        w = snprintf(out, cap, "%s/%s", env, rel);
        return w < 0 || (size_t)w >= cap ? -1 : 0;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    if (!(slash = strrchr(exe, '/')))
        return -1;
    *slash = '\0';
    w = snprintf(out, cap, "%s/../tests/data/%s", exe, rel);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

json_t *testdata_json(const char *rel)
{
    char path[PATH_MAX];
    json_error_t err;
    json_t *doc;

    if (testdata_path(rel, path, sizeof path) < 0)
        return NULL;
    if (!(doc = json_load_file(path, 0, &err)))
        fprintf(stderr, "    %s:%d: %s\n", path, err.line, err.text);
    return doc;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t testdata_json_names(const char *dir, char **names, size_t max)
{
    char path[PATH_MAX];
    struct dirent *e;
    size_t n = 0;
    DIR *d;

    if (testdata_path(dir, path, sizeof path) < 0 || !(d = opendir(path)))
        return 0;
    while ((e = readdir(d)) && n < max) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
            if ((names[n] = strdup(e->d_name)))
                n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], by_str);
    return n;
}

void testdata_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
}

void testsrc_init(struct test_source *t, const char *scheme)
{
    memset(t, 0, sizeof *t);
    t->src.name = strdup("test");
    t->src.scheme = scheme_find(scheme);
    t->src.tolerance_s = 0; /* the scheme's default, as a config without `tolerance` */
    t->src.algo = MAC_SHA256;
    t->src.enc = ENC_HEX;
}

int testsrc_add_key(struct test_source *t, const char *version, const char *text)
{
    struct secret *k;
    unsigned char *raw = NULL;
    size_t len = strlen(text);
    int rc;

    if (t->src.keys.n >= CONFIG_MAX_KEYS)
        test_fail(__FILE__, __LINE__, "too many keys");
    if (t->src.scheme && t->src.scheme->decode_key) {
        if ((rc = t->src.scheme->decode_key(text, len, &raw, &len)) < 0)
            return rc;
    } else {
        raw = malloc(len + 1);
        memcpy(raw, text, len + 1);
    }
    k = &t->src.keys.keys[t->src.keys.n++];
    k->version = strdup(version);
    k->key = raw;
    k->key_len = len;
    return 0;
}

int testsrc_add_public_key(struct test_source *t, const char *version, const char *text)
{
    struct secret *k;
    char err[200];
    int rc;

    if (t->src.keys.n >= CONFIG_MAX_KEYS)
        test_fail(__FILE__, __LINE__, "too many keys");
    if (!t->src.scheme || !t->src.scheme->parse_public_key)
        return HOOKD_ECONFIG;
    k = &t->src.keys.keys[t->src.keys.n];
    memset(k, 0, sizeof *k);
    if ((rc = t->src.scheme->parse_public_key(text, strlen(text), k, err, sizeof err)) < 0)
        return rc;
    k->version = strdup(version);
    k->is_public = true;
    t->src.keys.n++;
    return 0;
}

void testsrc_set(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

void testsrc_free(struct test_source *t)
{
    for (size_t i = 0; i < t->src.keys.n; i++) {
        free(t->src.keys.keys[i].version);
        free(t->src.keys.keys[i].key);
        EVP_PKEY_free((EVP_PKEY *)t->src.keys.keys[i].pkey);
    }
    free(t->src.name), free(t->src.sig_header), free(t->src.sig_prefix);
    free(t->src.ts_header), free(t->src.signed_content), free(t->src.public_url);
    free(t->src.verify_token), free(t->src.token_header);
    free(t->src.id.arg), free(t->src.type.arg), free(t->src.tenant.arg);
    memset(t, 0, sizeof *t);
}

void th_add(struct headers *h, const char *name, const char *value)
{
    if (headers_add(h, name, strlen(name), value, strlen(value)) < 0)
        test_fail(__FILE__, __LINE__, "header list full");
}

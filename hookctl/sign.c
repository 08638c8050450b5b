/*
 * sign.c — `hookctl sign SOURCE --body FILE [--type T] [--id ID]
 * [--version V] [--url URL]`: prints a ready-to-run curl that POSTs FILE
 * to the receiver signed as the source's provider would sign it, with the
 * source's own secret (the last secret.VERSION unless --version), for
 * trying a handler, a route or a failure by hand with any scheme.
 *
 * The MAC comes from the scheme's own compute function (the one the
 * receiver verifies with); this file only lays out the provider's headers.
 * An id or type read from a header (header:NAME, the scheme's default or
 * the source's id/type) gets that header: the id is --id or a new random
 * one, so each run is a new event. Ids and types read from the JSON body
 * come from FILE as it is. Needs no Redis.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "codec.h"
#include "ctl.h"
#include "scheme.h"

#define SIGN_BODY_MAX (64u << 20)
#define SIGN_MAX_HEADERS 8

struct sign_args {
    const char *source, *body, *type, *id, *version, *url;
};

struct sign_out {
    char names[SIGN_MAX_HEADERS][64];
    char values[SIGN_MAX_HEADERS][300];
    size_t n;
};

static void add_header(struct sign_out *o, const char *name, const char *fmt, const char *a,
                       const char *b)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcasecmp(o->names[i], name) == 0)
            return; /* the scheme's own header (webhook-id) already says it */
    if (o->n == SIGN_MAX_HEADERS)
        return;
    snprintf(o->names[o->n], sizeof o->names[0], "%s", name);
    snprintf(o->values[o->n], sizeof o->values[0], fmt, a, b ? b : "");
    o->n++;
}

/* The provider's signature headers, from the MAC (hex and base64 given). */
static void scheme_headers(const struct source_cfg *src, const char *ts, const char *id,
                           const char *hex, const char *b64, struct sign_out *o)
{
    const char *name = src->scheme->name;

    if (strcmp(name, "github") == 0) {
        add_header(o, "X-Hub-Signature-256", "sha256=%s%s", hex, NULL);
    } else if (strcmp(name, "stripe") == 0) {
        add_header(o, "Stripe-Signature", "t=%s,v1=%s", ts, hex);
    } else if (strcmp(name, "slack") == 0) {
        add_header(o, "X-Slack-Request-Timestamp", "%s%s", ts, NULL);
        add_header(o, "X-Slack-Signature", "v0=%s%s", hex, NULL);
    } else if (strcmp(name, "shopify") == 0) {
        add_header(o, "X-Shopify-Hmac-Sha256", "%s%s", b64, NULL);
    } else if (strcmp(name, "standard") == 0) {
        add_header(o, "webhook-id", "%s%s", id, NULL);
        add_header(o, "webhook-timestamp", "%s%s", ts, NULL);
        add_header(o, "webhook-signature", "v1,%s%s", b64, NULL);
    } else { /* hmac: the source's settings */
        if (src->ts_header)
            add_header(o, src->ts_header, "%s%s", ts, NULL);
        add_header(o, src->sig_header, "%s%s", src->sig_prefix ? src->sig_prefix : "",
                   src->enc == ENC_BASE64 ? b64 : hex);
    }
}

/* The first header:NAME among a field spec's alternatives, or NULL. */
static const char *spec_header(const struct field_spec *f, const char *scheme_default,
                               char *buf, size_t cap)
{
    const char *text = scheme_default;

    if (f->kind == FIELD_HEADER)
        return f->arg;
    if (f->kind == FIELD_ANY_OF)
        text = f->arg;
    else if (f->kind != FIELD_NONE)
        return NULL;
    if (!text || strncmp(text, "header:", 7) != 0)
        return NULL;
    snprintf(buf, cap, "%.*s", (int)strcspn(text + 7, "|"), text + 7);
    return buf;
}

static int parse_sign_args(int argc, char **argv, struct sign_args *a)
{
    for (int i = 0; i < argc; i++) {
        int got = 0;
        const char *opts[] = {"--body", "--type", "--id", "--version", "--url"};
        const char **dst[] = {&a->body, &a->type, &a->id, &a->version, &a->url};
        for (size_t k = 0; k < 5 && got == 0; k++)
            got = ctl_opt_value(argc, argv, &i, opts[k], dst[k]);
        if (got < 0)
            return -1;
        if (got == 0 && !a->source && argv[i][0] != '-')
            a->source = argv[i];
        else if (got == 0) {
            ctl_err("sign: unexpected \"%s\"", argv[i]);
            return -1;
        }
    }
    if (!a->source || !a->body) {
        ctl_err("usage: hookctl sign SOURCE --body FILE [--type T] [--id ID] [--version V] "
                "[--url URL]");
        return -1;
    }
    return 0;
}

static const struct secret *pick_key(const struct source_cfg *src, const char *version)
{
    for (size_t i = 0; version && i < src->keys.n; i++)
        if (strcmp(src->keys.keys[i].version, version) == 0)
            return &src->keys.keys[i];
    if (version) {
        ctl_err("[source %s] has no secret.%s", src->name, version);
        return NULL;
    }
    return &src->keys.keys[src->keys.n - 1];
}

/* Single-quoted for sh: ' becomes '\''. */
static void print_quoted(const char *s)
{
    putchar('\'');
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*s);
    putchar('\'');
}

static void print_curl(const struct sign_args *a, const char *url, const struct sign_out *o)
{
    char line[512];

    snprintf(line, sizeof line, "%s/hooks/%s", url, a->source);
    fputs("curl -i -X POST ", stdout);
    print_quoted(line);
    fputs(" \\\n  -H 'Content-Type: application/json'", stdout);
    for (size_t i = 0; i < o->n; i++) {
        snprintf(line, sizeof line, "%s: %s", o->names[i], o->values[i]);
        fputs(" \\\n  -H ", stdout);
        print_quoted(line);
    }
    char *abs = realpath(a->body, NULL); /* the curl may run elsewhere */
    snprintf(line, sizeof line, "@%s", abs ? abs : a->body);
    free(abs);
    fputs(" \\\n  --data-binary ", stdout);
    print_quoted(line);
    putchar('\n');
}

static int sign_body(const struct ctl *c, const struct sign_args *a, const char *body, size_t n)
{
    const struct source_cfg *src = config_source(c->cfg, a->source, strlen(a->source));
    const struct secret *key;
    struct sig_input in = {0};
    struct sign_out o = {0};
    unsigned char mac[SCHEME_MAX_MAC], rnd[12];
    size_t mac_len = 0;
    char ts[24], id[80], hex[2 * SCHEME_MAX_MAC + 1], b64[4 * SCHEME_MAX_MAC / 3 + 8];
    char hbuf[CONFIG_NAME_MAX + 64], url[300];
    const char *h;

    if (!src) {
        ctl_err("unknown source \"%s\" in %s", a->source, c->config_path);
        return CTL_USAGE;
    }
    if (!(key = pick_key(src, a->version)))
        return CTL_USAGE;
    if (a->id) {
        snprintf(id, sizeof id, "%s", a->id);
    } else if (RAND_bytes(rnd, sizeof rnd) == 1) {
        memcpy(id, "evt_", 4);
        codec_hex_encode(rnd, sizeof rnd, id + 4);
        id[4 + 2 * sizeof rnd] = '\0';
    } else {
        ctl_err("sign: no random bytes for an event id (give --id)");
        return CTL_PROBLEM;
    }
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    in.has_timestamp = true, in.timestamp = time(NULL);
    in.ts_text = ts, in.ts_text_len = strlen(ts);
    in.msg_id = id, in.msg_id_len = strlen(id);
    if (src->scheme->compute(src, &in, key, body, n, mac, &mac_len) < 0) {
        ctl_err("sign: cannot compute the signature");
        return CTL_PROBLEM;
    }
    codec_hex_encode(mac, mac_len, hex);
    b64[codec_base64_encode(mac, mac_len, b64)] = '\0';
    scheme_headers(src, ts, id, hex, b64, &o);
    if ((h = spec_header(&src->id, src->scheme->default_id, hbuf, sizeof hbuf)))
        add_header(&o, h, "%s%s", id, NULL);
    if ((h = spec_header(&src->type, src->scheme->default_type, hbuf, sizeof hbuf)))
        add_header(&o, h, "%s%s", a->type ? a->type : "ping", NULL);
    snprintf(url, sizeof url, "%s", a->url ? a->url : "");
    if (!a->url)
        snprintf(url, sizeof url, "http://%s", c->cfg->receiver.listen);
    print_curl(a, url, &o);
    OPENSSL_cleanse(mac, sizeof mac);
    return CTL_OK;
}

int cmd_sign(struct ctl *c, int argc, char **argv)
{
    struct sign_args a = {0};
    char *body;
    size_t n;
    int rc;

    if (parse_sign_args(argc, argv, &a) < 0)
        return CTL_USAGE;
    if (!(body = ctl_read_file(a.body, SIGN_BODY_MAX, &n))) {
        ctl_err("cannot read %s", a.body);
        return CTL_USAGE;
    }
    rc = sign_body(c, &a, body, n);
    free(body);
    return rc;
}

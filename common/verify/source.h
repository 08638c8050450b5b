/*
 * config_source.h — a [source NAME] section of the config: the secrets a
 * source verifies with, where its event id, type and tenant come from, and
 * the settings of scheme = hmac. Included by config.h, which documents
 * loading and ownership (a struct source_cfg belongs to its struct config);
 * mac.h includes it alone for the algorithm and encoding names.
 */
#ifndef HOOKD_CONFIG_SOURCE_H
#define HOOKD_CONFIG_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

#define CONFIG_MAX_KEYS 16 /* secret versions per source */

struct scheme;
struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

#define SECRET_KEY_ID_HEX 8 /* hex chars of a public key's fingerprint */

/* One entry of a source's versioned key set: a shared secret (secret.V) or
 * a provider's public key (public_key.V), never both. */
struct secret {
    char *version;      /* "v1", from the key name secret.v1 or public_key.v1 */
    unsigned char *key; /* HMAC key or token bytes (decoded where the scheme says so);
                           for a public key, its text until the config is validated */
    size_t key_len;
    struct evp_pkey_st *pkey; /* public_key.V, parsed once at load; owned (EVP_PKEY_free) */
    char key_id[SECRET_KEY_ID_HEX + 1]; /* public key: first hex of SHA-256 of its DER */
    int line;                           /* config line, for messages */
    bool is_public;                     /* public_key.V rather than secret.V */
};

struct keyset {
    struct secret keys[CONFIG_MAX_KEYS];
    size_t n;
};

/* Where an event's id, type or tenant comes from. */
enum field_kind {
    FIELD_NONE = 0, /* unset: use the scheme default */
    FIELD_HEADER,   /* header:NAME */
    FIELD_JSON,     /* json:/pointer (RFC 6901) */
    FIELD_SHA256,   /* sha256 of the raw body (ids only) */
    FIELD_SOURCE,   /* the source's own name (tenants only) */
    FIELD_FORM,     /* form:NAME, a parameter of a form-encoded body */
    FIELD_ANY_OF,   /* alternatives "A|B": arg holds the whole spec text */
};

struct field_spec {
    enum field_kind kind;
    char *arg; /* header name or JSON pointer; NULL otherwise */
};

enum mac_algo { MAC_SHA1, MAC_SHA256, MAC_SHA512 };
enum mac_encoding { ENC_HEX, ENC_BASE64 };
enum ts_format { TS_SECONDS, TS_MILLISECONDS, TS_RFC3339 };

struct source_cfg {
    char *name;
    const struct scheme *scheme; /* static, from the scheme registry */
    struct keyset keys;
    size_t max_body;     /* bytes */
    int64_t tolerance_s; /* timestamp tolerance, both directions */
    struct field_spec id, type, tenant;
    double rate_limit; /* events per second, 0 = unlimited */
    int burst;
    struct cidr_set allow_from; /* empty: any client; else others get 403 */
    /* scheme = hmac only */
    char *sig_header;         /* signature_header */
    enum mac_algo algo;       /* algorithm */
    enum mac_encoding enc;    /* encoding */
    char *sig_prefix;         /* signature_prefix, e.g. "sha256=" (may be NULL) */
    char *ts_header;          /* timestamp_header (may be NULL) */
    char *signed_content;     /* template: {body} {timestamp} {id} {method} {url} */
    enum ts_format ts_format; /* timestamp_format of timestamp_header */
    /* other schemes */
    char *public_url;   /* the exact URL the provider calls (twilio, {url}); no query */
    char *verify_token; /* meta: secret compared with hub.verify_token */
    char *token_header; /* token: header carrying the shared token */
    int line;           /* where the section starts, for messages */
    /* hookctl reconcile --api only; the receiver and workers never use them */
    char *api_token;  /* where the API credential is (literal, env:VAR, file:PATH), as
                         written: resolved only by config_api_token(), when used */
    char *api_hook;   /* GitHub: repos/OWNER/REPO/hooks/ID, orgs/ORG/hooks/ID or app */
    char *api_base;   /* the API's root URL; NULL: the provider's public API */
    char *api_app_id; /* GitHub App id, with api_hook = app */
};

#endif

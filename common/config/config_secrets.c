/*
 * config_secrets.c — the config's secrets: admin_token, [redis] password,
 * each source's secret.VERSION / public_key.VERSION and api_token, read
 * from a literal, env:VAR or file:PATH (cv_secret). With
 * CONFIG_SKIP_SECRETS only the Redis password is read; with CONFIG_RELOAD
 * a missing env: secret says that only file: secrets change by SIGHUP.
 * Every env: variable named joins cfg->secret_env, which workers keep out
 * of their handlers' environment. No message ever holds a secret's value.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "config_values.h"
#include "err.h"

/* Adds an env: secret's variable name to cfg->secret_env: 0, or -1 out of
 * memory. */
static int remember_env(struct config *cfg, const char *name)
{
    char **names = realloc(cfg->secret_env, (cfg->nsecret_env + 1) * sizeof *names);

    if (!names)
        return -1;
    cfg->secret_env = names;
    if (!(names[cfg->nsecret_env] = strdup(name)))
        return -1;
    cfg->nsecret_env++;
    return 0;
}

/* cv_secret, remembering an env: variable's name in cfg->secret_env so
 * that workers keep it out of their handlers' environment. With
 * CONFIG_SKIP_SECRETS (hookctl's commands that need no secret, workers)
 * only the Redis password is read; the others stay NULL. */
static int read_secret(struct parse_ctx *c, const char *key, const char *val, char **out,
                       size_t *len)
{
    char msg[256];

    bool wanted = !(c->flags & CONFIG_SKIP_SECRETS) || strcmp(key, "password") == 0;

    *out = NULL, *len = 0;
    if (wanted && cv_secret(val, out, len, msg, sizeof msg) < 0) {
        if ((c->flags & CONFIG_RELOAD) && strncmp(val, "env:", 4) == 0)
            return config_fail(c, key, "%s: a running process never sees a variable set after "
                               "it started; to rotate by SIGHUP put the secret in a file "
                               "(file:PATH), or restart", msg);
        return config_fail(c, key, "%s", msg);
    }
    if (strncmp(val, "env:", 4) != 0)
        return 0;
    if (remember_env(c->cfg, val + 4) < 0) {
        config_secret_free(*out, *len);
        *out = NULL;
        return config_fail(c, key, "out of memory");
    }
    return 0;
}

int config_set_secret_str(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    char **dst = f, *s = NULL;
    size_t n;

    int rc;

    if ((rc = read_secret(c, key, val, &s, &n)) < 0)
        return rc;
    free(*dst);
    *dst = s;
    return 0;
}

/* A credential only hookctl uses (api_token): kept as written and resolved
 * when used (config_api_token), so that the receiver and workers neither
 * need it in their environment nor fail to start without it. An env:
 * variable still joins cfg->secret_env: handlers never see it. */
int config_set_secret_ref(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    char **dst = f;
    bool env = strncmp(val, "env:", 4) == 0;

    if ((env && !val[4]) || (strncmp(val, "file:", 5) == 0 && !val[5]))
        return config_fail(c, key, "expected a secret: a literal, env:VAR or file:PATH");
    if (env && remember_env(c->cfg, val + 4) < 0)
        return config_fail(c, key, "out of memory");
    if (*dst)
        config_secret_free(*dst, strlen(*dst));
    if (!(*dst = strdup(val)))
        return config_fail(c, key, "out of memory");
    return 0;
}

/* secret.VERSION or public_key.VERSION = value: one entry of the source's
 * versioned key set. A public key keeps its text until validate_source has
 * the scheme parse it. */
int config_set_secret_version(struct parse_ctx *c, const char *key, const char *val)
{
    struct source_cfg *src = c->target;
    bool public = strncmp(key, "public_key.", 11) == 0;
    const char *version = strchr(key, '.') + 1;
    struct secret *k;
    char *text = NULL;
    size_t len;

    if (!cv_valid_name(version, strlen(version)))
        return config_fail(c, key, "secret version must be [A-Za-z0-9_.-]{1,64}");
    for (size_t i = 0; i < src->keys.n; i++)
        if (strcmp(src->keys.keys[i].version, version) == 0)
            return config_fail(c, key,
                               "duplicate key version (secret.%s and public_key.%s "
                               "share one set)",
                               version, version);
    if (src->keys.n >= CONFIG_MAX_KEYS)
        return config_fail(c, key, "at most %d secret versions per source", CONFIG_MAX_KEYS);
    int rc;

    if ((rc = read_secret(c, key, val, &text, &len)) < 0)
        return rc;
    k = &src->keys.keys[src->keys.n];
    k->key = (unsigned char *)text, k->key_len = len;
    k->line = c->line;
    k->is_public = public;
    if (!(k->version = strdup(version))) {
        config_secret_free(text, len);
        k->key = NULL;
        return config_fail(c, key, "out of memory");
    }
    src->keys.n++;
    return 0;
}


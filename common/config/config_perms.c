/*
 * config_perms.c — refuses a world-readable config file that holds literal
 * secrets (see config_perms.h). Called by config_load with the descriptor
 * it read the file from, so the mode checked is that of the bytes parsed
 * (no window between a stat of the path and the read).
 *
 * The scan is a light reading of the INI syntax that config.c parses: it
 * must only find "key = value" lines whose key names a secret; it keeps
 * in step with the secret setters of config_secrets.c (config_set_secret_str and
 * secret.VERSION). When in doubt it counts a value as literal: a false
 * alarm costs a chmod, a miss leaks a key.
 */
#include "config_perms.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The secret keys: secret.VERSION and api_token in a source, admin_token,
 * password. */
static bool is_secret_key(const char *k, size_t n)
{
    return (n > 7 && memcmp(k, "secret.", 7) == 0) ||
           (n == 9 && memcmp(k, "api_token", 9) == 0) ||
           (n == 11 && memcmp(k, "admin_token", 11) == 0) ||
           (n == 8 && memcmp(k, "password", 8) == 0);
}

/* A value counts as literal unless it names where the secret lives. */
static bool is_literal(const char *v, size_t n)
{
    while (n > 0 && is_space(*v))
        v++, n--;
    if (n == 0 || *v == ';' || *v == '#')
        return false; /* empty: the parser refuses it anyway */
    return !(n >= 4 && memcmp(v, "env:", 4) == 0) && !(n >= 5 && memcmp(v, "file:", 5) == 0);
}

int config_perms_literal_secret_line(const char *text, size_t len, const char **key_out,
                                     size_t *key_len)
{
    const char *p = text, *end = text + len;
    int line = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        line++;
        while (p < eol && is_space(*p))
            p++;
        const char *eq = memchr(p, '=', (size_t)(eol - p));
        if (eq && *p != ';' && *p != '#' && *p != '[') {
            const char *kend = eq;
            while (kend > p && is_space(kend[-1]))
                kend--;
            if (is_secret_key(p, (size_t)(kend - p)) &&
                is_literal(eq + 1, (size_t)(eol - eq - 1))) {
                if (key_out)
                    *key_out = p, *key_len = (size_t)(kend - p);
                return line;
            }
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

int config_perms_check(int fd, const char *path, const char *text, size_t len, char *err,
                       size_t errlen)
{
    struct stat st;
    const char *key = NULL;
    size_t key_len = 0;
    int line;

    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: cannot stat the config file", path);
        return HOOKD_ECONFIG;
    }
    if (!(st.st_mode & S_IROTH))
        return 0;
    if ((line = config_perms_literal_secret_line(text, len, &key, &key_len)) == 0)
        return 0;
    snprintf(err, errlen,
             "%s:%d: %.*s: a literal secret in a file other users can read (mode %04o); "
             "chmod o-r it (600, or 640 with hookd's group) or use env:/file: secrets",
             path, line, (int)(key_len > 64 ? 64 : key_len), key, (unsigned)(st.st_mode & 07777));
    return HOOKD_ECONFIG;
}

/*
 * redis_url.h — the one parser of [redis] url, used by the config's
 * validation (so `--check` refuses what cannot connect) and by the store
 * when it opens (so there is nothing left to refuse at run time).
 *
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]      (IPv6: [::1]:6379)
 *   unix:/PATH[?db=N]
 *
 * Error messages never contain the password.
 */
#ifndef HOOKD_REDIS_URL_H
#define HOOKD_REDIS_URL_H

#include <stddef.h>

#define REDIS_DEFAULT_PORT 6379

struct redis_url {
    char *host;      /* NULL for unix: */
    int port;        /* REDIS_DEFAULT_PORT when absent */
    char *unix_path; /* NULL for redis:// */
    int db;
    char *password; /* NULL when absent; a secret */
};

/* Fills *out (owned by the caller: redis_url_free); 0, or HOOKD_ECONFIG
 * (HOOKD_ENOMEM) with a sentence in err. */
int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errlen);
/* Frees the strings (the password wiped); NULL fields are fine. */
void redis_url_free(struct redis_url *u);

#endif

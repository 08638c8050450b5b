/*
 * config_perms.h — a config file that holds literal secrets must not be
 * readable by other users.
 *
 * A secret written in the file itself (`secret.v1 = whsec_...`,
 * `admin_token = ...`, `password = ...`, anything but `env:` or `file:`)
 * is only as private as the file: a mode that lets "other" read it (0644,
 * the umask default) hands every local user the HMAC keys. Such a file is
 * refused at start and on reload, with a message naming the file, the
 * first such key and its line (never the value), and the fix.
 */
#ifndef HOOKD_CONFIG_PERMS_H
#define HOOKD_CONFIG_PERMS_H

#include <stdbool.h>
#include <stddef.h>

/* Line (1-based) of the first key in INI text that sets a secret to a
 * literal value, or 0 if there is none. *key_out (if not NULL) points at
 * that key's name in text, *key_len its length. Keys: secret.*,
 * api_token, admin_token, password. */
int config_perms_literal_secret_line(const char *text, size_t len, const char **key_out,
                                     size_t *key_len);

/*
 * Checks the open config file fd (named path in messages) whose contents
 * are text: 0 when it holds no literal secret or other users cannot read
 * it; otherwise HOOKD_ECONFIG with one sentence in err. Also HOOKD_ECONFIG
 * when fstat fails. Called by config_load before parsing.
 */
int config_perms_check(int fd, const char *path, const char *text, size_t len, char *err,
                       size_t errlen);

#endif

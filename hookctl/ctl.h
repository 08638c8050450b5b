/*
 * ctl.h — what hookctl's command files share: the invocation context, exit
 * codes, option parsing, time arguments and plain-text output helpers.
 *
 * Each command group is one file (stats.c, dead.c, replay.c, reconcile.c,
 * verify_cmd.c, control.c, sign.c; reconcile --api adds reconcile_api.c, its
 * providers and api.h's client) with one entry point `int cmd_NAME(struct ctl *, int argc,
 * char **argv)` returning an exit code. main.c parses the global options,
 * loads the config and dispatches. The operations themselves live in
 * common/ (store_admin.h, replay.h, verify.h) so that the receiver's admin
 * API runs the very same code; files here only parse arguments and print.
 */
#ifndef HOOKCTL_CTL_H
#define HOOKCTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store_admin.h"

/* Exit codes, as the SPEC fixes them. */
enum ctl_exit {
    CTL_OK = 0,      /* success */
    CTL_PROBLEM = 1, /* the operation found a problem */
    CTL_USAGE = 2,   /* usage or config error, unknown route or source */
    CTL_REDIS = 3,   /* Redis unreachable */
    CTL_API = 4,     /* a provider's API failed (reconcile --api): an addition */
};

struct ctl {
    const char *config_path;
    struct config *cfg; /* owned; released by main */
    struct store *st;   /* owned; opened on first ctl_store() */
    bool json;          /* --json: machine-readable output */
};

/* "hookctl: MESSAGE" on stderr, one line. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens the store and checks that Redis answers. 0, or CTL_REDIS after
 * printing a one-line error. */
int ctl_store(struct ctl *c);

/* Exit code for a failed store operation (printed with WHAT). */
int ctl_store_failed(int rc, const char *what);

/* The route NAME of the config, or NULL after printing an error. */
const struct route_cfg *ctl_route(const struct ctl *c, const char *name);

/*
 * Options: if argv[*i] is NAME ("--limit") followed by a value, or
 * "NAME=VALUE", stores the value, advances *i past it and returns 1; 0 if
 * argv[*i] is another word; HOOKD_EPARSE (after an error) if the value is missing.
 */
int ctl_opt_value(int argc, char **argv, int *i, const char *name, const char **value);

/* The whole file, at most MAX bytes (malloc'd, NUL-terminated; its
 * length in *len), or NULL. */
char *ctl_read_file(const char *path, size_t max, size_t *len);

/* Wall-clock milliseconds since the epoch. */
int64_t ctl_now_ms(void);

/* A non-negative decimal integer; HOOKD_EPARSE if malformed. */
int64_t ctl_parse_count(const char *s);

/* A time argument: a duration ago ("90s", "2h", "7d"), an RFC 3339 time
 * ("2024-05-01T12:00:00Z", offsets allowed; a date alone is its midnight
 * UTC) or epoch seconds ("1714564800").
 * Returns epoch milliseconds, or HOOKD_EPARSE if malformed. */
int64_t ctl_parse_time(const char *s, int64_t now_ms);

/* Epoch milliseconds as "2024-05-01T12:00:00.123Z" (UTC). */
void ctl_format_time(int64_t ms, char *buf, size_t cap);
/* A number of milliseconds as "850ms", "12.3s", "4m05s", "3h02m", "2d04h". */
void ctl_format_duration(int64_t ms, char *buf, size_t cap);

/* Copies N bytes for a terminal: trailing newlines dropped, newlines and
 * tabs as spaces, other control and non-ASCII bytes as '?', at most CAP - 1
 * kept (a cut value ends in "..."). */
void ctl_printable(const char *p, size_t n, char *buf, size_t cap);

/* ---- aligned tables ---- */

#define CTL_TABLE_MAX_COLS 16

struct ctl_table {
    size_t ncols;
    bool right[CTL_TABLE_MAX_COLS]; /* right-aligned (numbers) */
    char **cells;                   /* rows * ncols, each owned */
    size_t nrows, cap;
};

/* Starts a table with the header row HEADERS (NULL-terminated); a header
 * starting with '>' is right-aligned (the '>' is not printed). */
void ctl_table_init(struct ctl_table *t, const char *const *headers);
/* Adds a row of ncols values (copied). */
void ctl_table_row(struct ctl_table *t, const char *const *values);
/* Prints with two spaces between columns, then frees the table. */
void ctl_table_print(struct ctl_table *t);
/* Frees a table not printed (nothing after ctl_table_print). */
void ctl_table_free(struct ctl_table *t);

/* ---- commands ---- */

int cmd_stats(struct ctl *c, int argc, char **argv);
int cmd_dead(struct ctl *c, int argc, char **argv);
int cmd_replay(struct ctl *c, int argc, char **argv);
int cmd_reconcile(struct ctl *c, int argc, char **argv);
int cmd_verify(struct ctl *c, int argc, char **argv);
int cmd_pause(struct ctl *c, int argc, char **argv);
int cmd_resume(struct ctl *c, int argc, char **argv);
int cmd_throttle(struct ctl *c, int argc, char **argv);
int cmd_sign(struct ctl *c, int argc, char **argv);

#endif

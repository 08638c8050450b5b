/*
 * order_handler.c — the persistent test handler of the per-key ordering
 * tests (tests/integration/test_ordering.c, make bench). Each event's body
 * is {"key": K, "seq": N}; the handler fails it transiently (reply 75)
 * with probability FAIL_PERCENT, else appends "K N\n" to DIR/ordered in
 * one write (O_APPEND: lines of concurrent handlers never interleave) and
 * replies 0. So DIR/ordered lists, per key, the sequence numbers in the
 * order the handler accepted them.
 *   order_handler DIR [FAIL_PERCENT [DELAY_US]]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define BODY_MAX (1 << 20)

int main(int argc, char **argv)
{
    char path[4096], *line = NULL, *body = malloc(BODY_MAX);
    int fail = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 0;
    long delay_us = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    size_t cap = 0;
    unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    int fd;

    if (argc < 2 || !body)
        return 2;
    snprintf(path, sizeof path, "%s/ordered", argv[1]);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0)
        return 2;
    while (getline(&line, &cap, stdin) > 0) {
        json_t *head = json_loads(line, 0, NULL), *ev = NULL;
        size_t n = (size_t)json_integer_value(json_object_get(head, "body_length"));
        char out[600];
        int len;

        json_decref(head);
        if (n > BODY_MAX || fread(body, 1, n, stdin) != n)
            return 1;
        if (delay_us > 0)
            usleep((useconds_t)delay_us);
        if ((int)(rand_r(&seed) % 100) < fail) {
            fputs("75 flaky\n", stdout);
        } else {
            ev = json_loadb(body, n, 0, NULL);
            len = snprintf(out, sizeof out, "%.500s %lld\n",
                           json_string_value(json_object_get(ev, "key")) ?: "?",
                           (long long)json_integer_value(json_object_get(ev, "seq")));
            if (write(fd, out, (size_t)len) != len)
                return 1;
            json_decref(ev);
            fputs("0\n", stdout);
        }
        fflush(stdout);
    }
    free(line);
    free(body);
    close(fd);
    return 0;
}

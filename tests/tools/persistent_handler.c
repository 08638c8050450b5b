/*
 * persistent_handler.c — the test handler for exec_mode = persistent
 * (tests/integration/test_worker_persistent.c). Reads event after event
 * (a JSON header line, then body_length body bytes) and answers by the
 * event's type:
 *
 *   ok       reads the body, writes DIR/head.ID and DIR/body.ID, replies
 *            "0 pid=PID"
 *   flaky    replies "75 not yet (attempt N)" until attempt 3, then 0
 *   perm     replies "65 bad payload"
 *   hang     reads the body, starts a child in its process group (pid in
 *            DIR/child.ID), never replies
 *   crash    attempt 1: exits 0 without a reply; later attempts: 0
 *   garbage  attempt 1: replies "hello world"; later attempts: 0
 *   early    replies "0 early" before reading its body, then reads it
 *   deaf     replies "0 deaf" and never reads its body
 *   env      writes its environment to DIR/fullenv.ID, replies 0
 *
 * Every event appends "ID ATTEMPT PID" to DIR/runs; a start appends
 * "started PID" and an exit on stdin EOF "stopped PID" to DIR/pids.
 *   persistent_handler DIR
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

extern char **environ;

static const char *dir;

/* Appends "WHAT PID\n" to DIR/NAME. */
static void append(const char *name, const char *what)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if ((f = fopen(path, "a"))) {
        fprintf(f, "%s %ld\n", what, (long)getpid());
        fclose(f);
    }
}

static void write_file(const char *prefix, const char *id, const char *p, size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s.%s", dir, prefix, id);
    if ((f = fopen(path, "w"))) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
}

static void reply(const char *fmt, long a)
{
    char line[256];
    int n = snprintf(line, sizeof line, fmt, a);

    if (write(STDOUT_FILENO, line, (size_t)n) != n)
        exit(3);
}

static char *read_body(size_t n)
{
    char *body = malloc(n + 1);

    if (!body || fread(body, 1, n, stdin) != n)
        exit(4);
    body[n] = '\0';
    return body;
}

static void write_env(const char *id)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/fullenv.%s", dir, id);
    if ((f = fopen(path, "w"))) {
        for (char **e = environ; *e; e++)
            fprintf(f, "%s\n", *e);
        fclose(f);
    }
}

/* One event; false to stop reading. */
static bool handle(json_t *head, const char *line, size_t line_len)
{
    const char *id = json_string_value(json_object_get(head, "event_id"));
    const char *type = json_string_value(json_object_get(head, "type"));
    long attempt = (long)json_integer_value(json_object_get(head, "attempt"));
    size_t len = (size_t)json_integer_value(json_object_get(head, "body_length"));
    char *body = NULL, run[256];

    if (!id || !type)
        exit(5);
    snprintf(run, sizeof run, "%s %ld", id, attempt);
    append("runs", run);
    if (strcmp(type, "early") == 0) {
        reply("0 early\n", 0);
        free(read_body(len));
        return true;
    }
    if (strcmp(type, "deaf") == 0) {
        reply("0 deaf\n", 0);
        pause();
        return false;
    }
    body = read_body(len);
    if (strcmp(type, "ok") == 0) {
        write_file("head", id, line, line_len);
        write_file("body", id, body, len);
        reply("0 pid=%ld\n", (long)getpid());
    } else if (strcmp(type, "flaky") == 0) {
        reply(attempt < 3 ? "75 not yet (attempt %ld)\n" : "0\n", attempt);
    } else if (strcmp(type, "perm") == 0) {
        reply("65 bad payload\n", 0);
    } else if (strcmp(type, "hang") == 0) {
        pid_t child = fork();
        if (child == 0) {
            sleep(60);
            _exit(0);
        }
        char pid[32];
        snprintf(pid, sizeof pid, "%ld\n", (long)child);
        write_file("child", id, pid, strlen(pid));
        sleep(60);
    } else if (strcmp(type, "crash") == 0 && attempt == 1) {
        _exit(0);
    } else if (strcmp(type, "garbage") == 0 && attempt == 1) {
        reply("hello world\n", 0);
    } else {
        if (strcmp(type, "env") == 0)
            write_env(id);
        reply("0\n", 0);
    }
    free(body);
    return true;
}

int main(int argc, char **argv)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool more = true;

    if (argc != 2)
        return 2;
    dir = argv[1];
    append("pids", "started");
    while (more && (n = getline(&line, &cap, stdin)) > 0) {
        json_error_t err;
        json_t *head = json_loadb(line, (size_t)n, 0, &err);

        if (!head)
            return 6;
        more = handle(head, line, (size_t)n);
        json_decref(head);
    }
    free(line);
    append("pids", "stopped");
    return 0;
}

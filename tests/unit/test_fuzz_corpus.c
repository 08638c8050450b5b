/*
 * test_fuzz_corpus.c — replays the committed fuzz corpus (seeds and every
 * crasher found so far) through the fuzz targets, linked into this binary
 * by tests/fuzz/fuzz.mk, so that `make test` keeps them fixed without clang.
 * A target aborts when a promise of its callee is broken; the file being
 * replayed is then named in the failure.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/fuzz.h"
#include "harness.h"

#define CORPUS_DIR_MAX 4096
static char current[CORPUS_DIR_MAX + 260]; /* the corpus file being replayed */

static void on_abort(int sig)
{
    test_fail(__FILE__, __LINE__, "fuzz target aborted (signal %d) on %s", sig, current);
}

/* Replays every file of corpus/NAME; returns how many. */
static int replay_target(const struct fuzz_target *t)
{
    char dir[CORPUS_DIR_MAX];
    struct dirent *e;
    int count = 0;

    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", harness_repo_dir(), t->name);
    DIR *d = opendir(dir);
    if (!d)
        test_fail(__FILE__, __LINE__, "no corpus directory %s", dir);
    while ((e = readdir(d)) != NULL) {
        size_t len;
        if (e->d_name[0] == '.')
            continue;
        snprintf(current, sizeof current, "%s/%s", dir, e->d_name);
        char *data = harness_read_file(current, &len);
        ASSERT_NOT_NULL(data);
        t->fn((const uint8_t *)data, len);
        free(data);
        count++;
    }
    closedir(d);
    return count;
}

TEST(fuzz_corpus_replays_clean)
{
    int total = 0;

    signal(SIGABRT, on_abort);
    for (size_t i = 0; i < fuzz_ntargets; i++) {
        int n = replay_target(&fuzz_targets[i]);
        if (n == 0)
            test_fail(__FILE__, __LINE__, "corpus of %s is empty", fuzz_targets[i].name);
        total += n;
    }
    fprintf(stderr, "    replayed %d corpus files through %zu targets\n", total, fuzz_ntargets);
}

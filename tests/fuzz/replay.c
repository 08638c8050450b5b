/*
 * replay.c — a plain main for a fuzz target built without libFuzzer (the
 * pattern of jansson's test/ossfuzz): runs LLVMFuzzerTestOneInput once per
 * file named on the command line, or per file in a named directory. Used
 * to reproduce a crasher under gcc, valgrind or a debugger:
 *
 *   make fuzz-replay && build/fuzz/replay_config crash-file
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_BYTES (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t n;

    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    if (!(buf = malloc(REPLAY_MAX_BYTES))) {
        fclose(f);
        return 1;
    }
    n = fread(buf, 1, REPLAY_MAX_BYTES, f);
    fclose(f);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    int rc = 0;

    if (!d)
        return run_file(dir);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        rc |= run_file(path);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        rc |= run_dir(argv[i]);
    return rc;
}

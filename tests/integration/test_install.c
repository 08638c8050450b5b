/*
 * test_install.c — installing hookd like a daemon: `make install` into a
 * DESTDIR (binaries, man pages, units pointing at PREFIX/bin, the config
 * from the example, never overwritten), `make uninstall`, and `make deb`
 * unpacked into a scratch root whose hookd-receiver checks the packaged
 * config and whose man pages `man -l` renders.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define MAKE_TIMEOUT_MS 120000

/* The example config's env: secrets, so that --check can resolve them. */
static const char *const example_env[] = {"HOOKD_ADMIN_TOKEN=t", "GITHUB_WEBHOOK_SECRET_V1=g",
                                          "STRIPE_WEBHOOK_SECRET_V1=whsec_s", NULL};

static int run_make(const char *target, const char *destdir, char **out)
{
    char build[4200], dest[4200];
    snprintf(build, sizeof build, "BUILD=%s", harness_build_dir());
    snprintf(dest, sizeof dest, "DESTDIR=%s", destdir);
    const char *argv[] = {"make", "--no-print-directory", "-s", "-C", harness_repo_dir(),
                          target, build, dest, NULL};
    return harness_run(argv, out, MAKE_TIMEOUT_MS);
}

static const char *in(const char *root, const char *path)
{
    static char buf[8][4200];
    static int n;
    char *b = buf[n++ % 8];
    snprintf(b, sizeof buf[0], "%s%s", root, path);
    return b;
}

/* `man -l PAGE` renders and names the program. */
static void man_renders(const char *page, const char *name)
{
    char *out = NULL;
    const char *argv[] = {"man", "-l", page, NULL};
    const char *env[] = {"MANPAGER=cat", "PAGER=cat", "MANWIDTH=80", NULL};

    ASSERT_INT_EQ(harness_run_env(argv, env, NULL, 0, &out, 20000), 0);
    ASSERT_STR_CONTAINS(out, "NAME");
    ASSERT_STR_CONTAINS(out, name);
    free(out);
}

static void check_passes(const char *bin, const char *conf)
{
    char *out = NULL;
    const char *argv[] = {bin, "-c", conf, "--check", NULL};

    if (harness_run_env(argv, example_env, NULL, 0, &out, 10000) != 0)
        test_fail(__FILE__, __LINE__, "%s --check %s: %s", bin, conf, out);
    ASSERT_STR_CONTAINS(out, ": ok");
    free(out);
}

TEST(install_and_uninstall_into_destdir)
{
    const char *root = harness_path("root");
    char *out = NULL, *unit;
    struct stat st;

    if (run_make("install", root, &out) != 0)
        test_fail(__FILE__, __LINE__, "make install: %s", out);
    free(out);
    for (const char *const *b = (const char *const[]){"hookd-receiver", "hookd-worker", "hookctl",
                                                       NULL}; *b; b++) {
        char p[256];
        snprintf(p, sizeof p, "/usr/local/bin/%s", *b);
        ASSERT_INT_EQ(access(in(root, p), X_OK), 0);
    }
    man_renders(in(root, "/usr/local/share/man/man8/hookd-receiver.8"), "hookd-receiver");
    man_renders(in(root, "/usr/local/share/man/man8/hookd-worker.8"), "hookd-worker");
    man_renders(in(root, "/usr/local/share/man/man1/hookctl.1"), "hookctl");
    man_renders(in(root, "/usr/local/share/man/man5/hookd.conf.5"), "hookd.conf");
    unit = harness_read_file(in(root, "/usr/local/lib/systemd/system/hookd-receiver.service"), NULL);
    ASSERT_NOT_NULL(unit);
    ASSERT_STR_CONTAINS(unit, "ExecStart=/usr/local/bin/hookd-receiver -c /etc/hookd/hookd.conf\n");
    free(unit);
    ASSERT_INT_EQ(access(in(root, "/usr/local/lib/systemd/system/hookd-worker@.service"), R_OK), 0);
    ASSERT_INT_EQ(stat(in(root, "/etc/hookd/hookd.conf"), &st), 0);
    ASSERT_INT_EQ(st.st_mode & 0777, 0640);
    check_passes(in(root, "/usr/local/bin/hookd-receiver"), in(root, "/etc/hookd/hookd.conf"));

    /* A second install keeps the operator's config. */
    harness_write_file("root/etc/hookd/hookd.conf", "; mine\n");
    ASSERT_INT_EQ(run_make("install", root, NULL), 0);
    out = harness_read_file(in(root, "/etc/hookd/hookd.conf"), NULL);
    ASSERT_STR_EQ(out, "; mine\n");
    free(out);

    ASSERT_INT_EQ(run_make("uninstall", root, &out), 0);
    free(out);
    ASSERT(access(in(root, "/usr/local/bin/hookd-receiver"), F_OK) != 0);
    ASSERT(access(in(root, "/usr/local/share/man/man8/hookd-receiver.8"), F_OK) != 0);
    ASSERT(access(in(root, "/usr/local/lib/systemd/system/hookd-receiver.service"), F_OK) != 0);
    ASSERT(access(in(root, "/usr/local/share/doc/hookd"), F_OK) != 0);
    ASSERT_INT_EQ(access(in(root, "/etc/hookd/hookd.conf"), F_OK), 0);
}

TEST(install_deb_into_scratch_root)
{
    char script[4200], work[4200], build[4200], deb[4200];
    char *out = NULL;
    const char *root = harness_path("scratch");

    snprintf(script, sizeof script, "%s/scripts/make-deb.sh", harness_repo_dir());
    snprintf(work, sizeof work, "DEB_WORK=%s", harness_path("deb"));
    snprintf(build, sizeof build, "BUILD=%s", harness_build_dir());
    const char *argv[] = {"sh", script, NULL};
    const char *env[] = {work, build, NULL};
    if (harness_run_env(argv, env, NULL, 0, &out, MAKE_TIMEOUT_MS) != 0)
        test_fail(__FILE__, __LINE__, "make-deb.sh: %s", out);
    /* Its last line is the package. */
    size_t n = strlen(out);
    while (n && out[n - 1] == '\n')
        out[--n] = '\0';
    const char *last = strrchr(out, '\n');
    snprintf(deb, sizeof deb, "%s", last ? last + 1 : out);
    free(out);
    ASSERT_STR_CONTAINS(deb, ".deb");

    const char *fields[] = {"dpkg-deb", "-f", deb, "Package", "Depends", NULL};
    ASSERT_INT_EQ(harness_run(fields, &out, 10000), 0);
    ASSERT_STR_CONTAINS(out, "Package: hookd");
    ASSERT_STR_CONTAINS(out, "libmicrohttpd");
    ASSERT_STR_CONTAINS(out, "libhiredis");
    free(out);
    const char *conffiles[] = {"dpkg-deb", "--ctrl-tarfile", deb, NULL};
    ASSERT_INT_EQ(harness_run(conffiles, NULL, 10000), 0);

    const char *unpack[] = {"dpkg-deb", "-x", deb, root, NULL};
    ASSERT_INT_EQ(harness_run(unpack, NULL, 30000), 0);
    check_passes(in(root, "/usr/bin/hookd-receiver"), in(root, "/etc/hookd/hookd.conf"));
    man_renders(in(root, "/usr/share/man/man8/hookd-receiver.8.gz"), "hookd-receiver");
    man_renders(in(root, "/usr/share/man/man8/hookd-worker.8.gz"), "hookd-worker");
    man_renders(in(root, "/usr/share/man/man1/hookctl.1.gz"), "hookctl");
    man_renders(in(root, "/usr/share/man/man5/hookd.conf.5.gz"), "hookd.conf");
    out = harness_read_file(in(root, "/lib/systemd/system/hookd-receiver.service"), NULL);
    ASSERT_NOT_NULL(out);
    ASSERT_STR_CONTAINS(out, "ExecStart=/usr/bin/hookd-receiver");
    free(out);
}

/*
 * test_config_perms.c — a config file with literal secrets is refused when
 * other users can read it (config_perms.c), and config_load applies it.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_perms.h"
#include "err.h"
#include "harness.h"

static const char literal_conf[] = "[receiver]\n"
                                   "listen = 127.0.0.1:18080\n"
                                   "[redis]\n"
                                   "url = redis://127.0.0.1:1/0\n"
                                   "[source github]\n"
                                   "scheme = github\n"
                                   "secret.v1 = literal-key-material\n"
                                   "[route default]\n"
                                   "handler = exec:/bin/true\n";

TEST(config_perms_finds_literal_secrets)
{
    const char *key;
    size_t klen;
    static const char env_only[] = "[source a]\nsecret.v1 = env:A ; inline\n  secret.v2=file:/x\n"
                                   "[receiver]\nadmin_token = env:T\n";
    static const char commented[] = "; secret.v1 = not-a-key\n# password = nope\n[secret.v1 = x]\n";
    static const char token[] = "[receiver]\nlisten = x\n  admin_token\t=  tok-123  \n";
    static const char password[] = "[redis]\npassword = p ; comment\n";
    static const char api[] = "[source gh]\napi_hook = app\napi_token = ghp_literal\n";

    ASSERT_INT_EQ(config_perms_literal_secret_line(literal_conf, strlen(literal_conf), &key, &klen),
                  7);
    ASSERT_INT_EQ(klen, 9);
    ASSERT(memcmp(key, "secret.v1", 9) == 0);
    ASSERT_INT_EQ(config_perms_literal_secret_line(env_only, strlen(env_only), NULL, NULL), 0);
    ASSERT_INT_EQ(config_perms_literal_secret_line(commented, strlen(commented), NULL, NULL), 0);
    ASSERT_INT_EQ(config_perms_literal_secret_line(token, strlen(token), &key, &klen), 3);
    ASSERT_INT_EQ(config_perms_literal_secret_line(password, strlen(password), NULL, NULL), 2);
    ASSERT_INT_EQ(config_perms_literal_secret_line(api, strlen(api), &key, &klen), 3);
    ASSERT_INT_EQ(klen, 9);
    /* Length-delimited: a secret past len is not seen. */
    ASSERT_INT_EQ(config_perms_literal_secret_line(password, 8, NULL, NULL), 0);
}

static int check_mode(const char *name, const char *text, mode_t mode, char *err, size_t errlen)
{
    const char *path = harness_write_file(name, text);
    ASSERT_INT_EQ(chmod(path, mode), 0);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ASSERT_INT_OP(fd, >=, 0);
    int rc = config_perms_check(fd, path, text, strlen(text), err, errlen);
    close(fd);
    return rc;
}

TEST(config_perms_refuses_world_readable_literal_secrets)
{
    char err[512] = "";

    ASSERT_INT_EQ(check_mode("a.conf", literal_conf, 0644, err, sizeof err), HOOKD_ECONFIG);
    ASSERT_STR_CONTAINS(err, "a.conf:7: secret.v1");
    ASSERT_STR_CONTAINS(err, "0644");
    ASSERT(strstr(err, "literal-key-material") == NULL);
    ASSERT_INT_EQ(check_mode("b.conf", literal_conf, 0600, err, sizeof err), 0);
    ASSERT_INT_EQ(check_mode("c.conf", literal_conf, 0640, err, sizeof err), 0);
    ASSERT_INT_EQ(check_mode("d.conf", "[source a]\nsecret.v1 = env:X\n", 0644, err, sizeof err),
                  0);
}

TEST(config_perms_receiver_refuses_to_start)
{
    char *out = NULL;
    const char *path = harness_write_file("open.conf", literal_conf);
    const char *const argv[] = {harness_bin("hookd-receiver"), "-c", path, "--check", NULL};

    ASSERT_INT_EQ(chmod(path, 0644), 0);
    ASSERT_INT_EQ(harness_run(argv, &out, 10000), 2);
    ASSERT_STR_CONTAINS(out, "open.conf:7: secret.v1: a literal secret");
    ASSERT(strstr(out, "literal-key-material") == NULL);
    free(out);
    ASSERT_INT_EQ(chmod(path, 0600), 0);
    ASSERT_INT_EQ(harness_run(argv, &out, 10000), 0);
    free(out);
}

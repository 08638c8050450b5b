/*
 * form.c — form-encoded text (see form.h). Callers: scheme_twilio.c,
 * scheme_meta.c, extract.c. No allocation: decoding writes into the
 * caller's buffer, which is never longer than the encoded text.
 */
#include "form.h"
#include "err.h"

#include "codec.h"

#include <string.h>
#include <strings.h>

static int hexval(char c)
{
    return codec_hex_value((unsigned char)c);
}

long form_decode(const char *p, size_t n, char *out)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%') {
            int hi = i + 2 < n ? hexval(p[i + 1]) : HOOKD_EPARSE,
                lo = hi >= 0 ? hexval(p[i + 2]) : HOOKD_EPARSE;
            if (hi < 0 || lo < 0)
                return HOOKD_EPARSE;
            out[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[k++] = p[i] == '+' ? ' ' : p[i];
        }
    }
    return (long)k;
}

static bool escapes_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '%' && (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0))
            return false;
    return true;
}

long form_split(const char *p, size_t n, struct form_pair *out, size_t cap)
{
    const char *end = p + n;
    size_t k = 0;

    if (!escapes_ok(p, n))
        return HOOKD_EPARSE;
    for (const char *s = p; s < end;) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        size_t len = (size_t)((amp ? amp : end) - s);
        const char *eq = memchr(s, '=', len);

        if (len > 0) {
            if (k >= cap)
                return HOOKD_ETOO_LARGE;
            out[k].name = s;
            out[k].name_len = eq ? (size_t)(eq - s) : len;
            out[k].value = eq ? eq + 1 : s + len;
            out[k].value_len = eq ? len - out[k].name_len - 1 : 0;
            k++;
        }
        s = amp ? amp + 1 : end;
    }
    return (long)k;
}

bool form_name_is(const char *p, size_t n, const char *want)
{
    size_t wl = strlen(want), k = 0;
    char c;

    for (size_t i = 0; i < n; i++, k++) {
        if (p[i] == '%') {
            if (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0)
                return false;
            c = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            i += 2;
        } else {
            c = p[i] == '+' ? ' ' : p[i];
        }
        if (k >= wl || c != want[k])
            return false;
    }
    return k == wl;
}

long form_get(const char *p, size_t n, const char *name, char *out, size_t cap)
{
    const char *end = p + n;

    for (const char *s = p; s < end;) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        size_t len = (size_t)((amp ? amp : end) - s);
        const char *eq = memchr(s, '=', len);
        size_t nlen = eq ? (size_t)(eq - s) : len;

        if (len > 0 && form_name_is(s, nlen, name)) {
            size_t vlen = eq ? len - nlen - 1 : 0;
            if (vlen > cap)
                return HOOKD_ETOO_LARGE;
            return form_decode(eq ? eq + 1 : s + len, vlen, out);
        }
        s = amp ? amp + 1 : end;
    }
    return HOOKD_ENOT_FOUND;
}

bool form_is_form(const struct headers *h)
{
    static const char type[] = "application/x-www-form-urlencoded";
    const struct header *ct = h ? headers_find(h, "Content-Type") : NULL;
    size_t n = sizeof type - 1;

    if (!ct || !ct->value || ct->value_len < n || strncasecmp(ct->value, type, n) != 0)
        return false;
    return ct->value_len == n || ct->value[n] == ';' || ct->value[n] == ' ';
}

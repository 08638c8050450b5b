/* headers.c — see headers.h. */
#include "headers.h"
#include "err.h"

#include <string.h>
#include <strings.h>

int headers_add(struct headers *h, const char *name, size_t name_len, const char *value,
                size_t value_len)
{
    if (h->n >= HEADERS_MAX_COUNT)
        return HOOKD_ETOO_LARGE;
    h->items[h->n++] = (struct header){name, name_len, value, value_len};
    return 0;
}

const struct header *headers_find(const struct headers *h, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < h->n; i++)
        if (h->items[i].name_len == len && strncasecmp(h->items[i].name, name, len) == 0)
            return &h->items[i];
    return NULL;
}

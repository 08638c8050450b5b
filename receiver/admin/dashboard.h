/*
 * dashboard.h — the operator's page on the admin listener: HTML, CSS and a
 * little JavaScript compiled into the binary (receiver/dashboard/, turned
 * into C strings by scripts/gen-dashboard-assets.sh). The page polls the
 * JSON API (admin_api.h) and renders with DOM text nodes only.
 */
#ifndef HOOKD_DASHBOARD_H
#define HOOKD_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>

/* Served with every asset: no inline script or style, no other origin, no
 * framing. */
#define DASHBOARD_CSP                                                                              \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "                \
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct dashboard_asset {
    const char *body; /* static */
    size_t len;
    const char *type; /* Content-Type */
};

/* The asset served at PATH ("/", "/index.html", "/dashboard.js",
 * "/dashboard.css", "/favicon.svg"): true and *out filled, else false. */
bool dashboard_asset(const char *path, struct dashboard_asset *out);

#endif

/*
 * dashboard.c — serves the dashboard's static files; see dashboard.h.
 * The files' text lives in receiver/dashboard/ (edit there, then run
 * scripts/gen-dashboard-assets.sh); assets.inc holds them as C literals.
 */
#include "dashboard.h"

#include <string.h>

#include "dashboard/assets.inc"

bool dashboard_asset(const char *path, struct dashboard_asset *out)
{
    static const struct {
        const char *path;
        const char *body;
        size_t len;
        const char *type;
    } assets[] = {
        {"/", dashboard_html, sizeof dashboard_html - 1, "text/html; charset=utf-8"},
        {"/index.html", dashboard_html, sizeof dashboard_html - 1, "text/html; charset=utf-8"},
        {"/dashboard.js", dashboard_js, sizeof dashboard_js - 1, "text/javascript; charset=utf-8"},
        {"/dashboard.css", dashboard_css, sizeof dashboard_css - 1, "text/css; charset=utf-8"},
        {"/favicon.svg", dashboard_favicon, sizeof dashboard_favicon - 1, "image/svg+xml"},
    };

    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++)
        if (strcmp(path, assets[i].path) == 0) {
            out->body = assets[i].body;
            out->len = assets[i].len;
            out->type = assets[i].type;
            return true;
        }
    return false;
}

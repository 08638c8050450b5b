/*
 * admin.h — the admin listener: /healthz, /readyz (no auth), and the
 * token-protected operator endpoints (metrics, dashboard, JSON API).
 * Never proxied to the public: bind it to loopback or a private address.
 */
#ifndef HOOKD_ADMIN_H
#define HOOKD_ADMIN_H

#include <microhttpd.h>

/* libmicrohttpd access handler and completion callback of the admin daemon. */
enum MHD_Result admin_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls);
void admin_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe);

#endif

/*
 * port.h — a loopback TCP port that is free now, from the kernel (bind
 * 127.0.0.1:0), never a fixed number: shared by the test harness
 * (harness_free_port) and freeport, which make bench and make burst run.
 */
#ifndef HOOKD_TOOLS_PORT_H
#define HOOKD_TOOLS_PORT_H

/* A socket bound to 127.0.0.1 on a port the kernel chose, stored in *port.
 * Returns the socket (the caller closes it: the port stays taken until
 * then), or -1 with errno set. */
int port_bind_loopback(int *port);

#endif

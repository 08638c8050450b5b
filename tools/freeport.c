/*
 * freeport.c — prints N loopback TCP ports that were free a moment ago
 * (port.h: bind 127.0.0.1:0 and ask the kernel), all different: the
 * servers that make bench and make burst start never use fixed ports.
 *
 *   freeport [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "port.h"

#define FREEPORT_MAX 16

int main(int argc, char **argv)
{
    int fds[FREEPORT_MAX], port, n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1;

    if (n < 1 || n > FREEPORT_MAX) {
        fprintf(stderr, "usage: freeport [N] (1..%d)\n", FREEPORT_MAX);
        return 2;
    }
    /* All sockets stay bound until every port is printed: no duplicates. */
    for (int i = 0; i < n; i++) {
        if ((fds[i] = port_bind_loopback(&port)) < 0) {
            perror("freeport");
            return 1;
        }
        printf("%d\n", port);
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return 0;
}

/*
 * freeport.c — prints N loopback TCP ports that were free a moment ago
 * (bind 127.0.0.1:0 and ask the kernel), all different: the servers that
 * make bench and make burst start never use fixed ports.
 *
 *   freeport [N]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define FREEPORT_MAX 16

int main(int argc, char **argv)
{
    int fds[FREEPORT_MAX], n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1;

    if (n < 1 || n > FREEPORT_MAX) {
        fprintf(stderr, "usage: freeport [N] (1..%d)\n", FREEPORT_MAX);
        return 2;
    }
    /* All sockets stay bound until every port is printed: no duplicates. */
    for (int i = 0; i < n; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
            bind(fds[i], (struct sockaddr *)&a, sizeof a) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&a, &len) != 0) {
            perror("freeport");
            return 1;
        }
        printf("%d\n", ntohs(a.sin_port));
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return 0;
}

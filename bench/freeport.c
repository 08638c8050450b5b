/*
 * freeport.c — prints N loopback TCP ports the kernel says are free (bind to
 * port 0, read the port back), one a line, for the benchmark's servers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1, fds[64];

    for (int i = 0; i < n && i < 64; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof sa;
        /* all held open until the end, so that the N ports differ */
        if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
            bind(fds[i], (struct sockaddr *)&sa, sizeof sa) < 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &len) < 0)
            return perror("freeport"), 1;
        printf("%d\n", ntohs(sa.sin_port));
    }
    for (int i = 0; i < n && i < 64; i++)
        close(fds[i]);
    return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The floor under "initiate to installed" on this machine: the six hops a VICI
 * initiate takes (client to initiator over a unix socket, two UDP round trips between
 * the initiator's and the responder's namespaces, the answer back), with messages of
 * the same sizes, between processes that do nothing else. What a daemon adds on top
 * is its own work; the floor is how fast the machine wakes idle processes.
 *
 *   bench-wake-floor responder ADDR PORT READY   answers two datagrams, then exits
 *   bench-wake-floor initiator SOCKET ADDR PORT  relays one request, then exits
 *   bench-wake-floor client SOCKET               prints the round trip in ms
 *
 * READY: a file created once the responder listens. Every wait gives up after 10 s.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { REQUEST = 42, ANSWER = 19 }; /* swanctl's initiate request, its answer */
/* IKE_SA_INIT and IKE_AUTH: request and response sizes */
static const size_t exchanges[2][2] = { { 214, 214 }, { 255, 222 } };

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static int
socket_with_timeout(int domain, int type)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(domain, type, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("socket");
	return fd;
}

static struct sockaddr_in
inet_address(const char *addr, const char *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		die("address");
	return sin;
}

static struct sockaddr_un
unix_address(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path))
		die("socket path");
	strcpy(sun.sun_path, path);
	return sun;
}

/* Reads exactly @len bytes. */
static void
read_all(int fd, size_t len)
{
	char buf[64];

	while (len > 0) {
		ssize_t n = read(fd, buf, len < sizeof(buf) ? len : sizeof(buf));
		if (n <= 0)
			die("read");
		len -= (size_t)n;
	}
}

static void
responder(const char *addr, const char *port, const char *ready)
{
	int fd = socket_with_timeout(AF_INET, SOCK_DGRAM);
	struct sockaddr_in sin = inet_address(addr, port), peer;
	char buf[2048] = { 0 };

	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("bind");
	close(open(ready, O_CREAT | O_WRONLY, 0600));
	for (int i = 0; i < 2; i++) {
		socklen_t len = sizeof(peer);
		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len) < 0)
			die("recvfrom");
		if (sendto(fd, buf, exchanges[i][1], 0, (struct sockaddr *)&peer, len) < 0)
			die("sendto");
	}
}

static void
initiator(const char *path, const char *addr, const char *port)
{
	int listener = socket_with_timeout(AF_UNIX, SOCK_STREAM);
	int udp = socket_with_timeout(AF_INET, SOCK_DGRAM);
	struct sockaddr_un sun = unix_address(path);
	struct sockaddr_in peer = inet_address(addr, port);
	char buf[2048] = { 0 };
	int conn;

	if (bind(listener, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(listener, 1) < 0)
		die("listen");
	if ((conn = accept(listener, NULL, NULL)) < 0)
		die("accept");
	read_all(conn, REQUEST);
	for (int i = 0; i < 2; i++) {
		if (sendto(udp, buf, exchanges[i][0], 0, (struct sockaddr *)&peer, sizeof(peer)) <
			    0 ||
		    recv(udp, buf, sizeof(buf), 0) < 0)
			die("udp exchange");
	}
	if (write(conn, buf, ANSWER) != ANSWER)
		die("write");
}

static void
client(const char *path)
{
	int fd = socket_with_timeout(AF_UNIX, SOCK_STREAM);
	struct sockaddr_un sun = unix_address(path);
	char buf[REQUEST] = { 0 };
	struct timespec t0, t1;

	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die("connect");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (write(fd, buf, REQUEST) != REQUEST)
		die("write");
	read_all(fd, ANSWER);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.3f\n",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "responder") == 0)
		responder(argv[2], argv[3], argv[4]);
	else if (argc == 5 && strcmp(argv[1], "initiator") == 0)
		initiator(argv[2], argv[3], argv[4]);
	else if (argc == 3 && strcmp(argv[1], "client") == 0)
		client(argv[2]);
	else {
		fprintf(stderr,
			"usage: %s responder ADDR PORT READY | initiator SOCKET ADDR PORT"
			" | client SOCKET\n",
			argv[0]);
		return 2;
	}
	return 0;
}

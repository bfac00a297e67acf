/*
 * The raw ceiling for bench/target/bench.sh: one loopback TCP connection,
 * a sender writing SIZE-byte chunks as fast as it can and a receiver
 * reading them, for SECONDS.  No protocol, no disk: what the machine moves
 * at all, measured in the same run as the targets.
 *   tcp_pump SIZE SECONDS   prints "mbps N writes_per_s N"
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	size_t size;
	double secs, t0, t1;
	unsigned long long bytes = 0;
	char *buf;
	int lfd, fd, one = 1;
	pid_t pid;

	if (argc != 3 || (size = strtoul(argv[1], NULL, 10)) == 0 ||
	    (secs = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: tcp_pump SIZE SECONDS\n");
		return 2;
	}
	buf = calloc(1, size < 65536 ? 65536 : size);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!buf || lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&a, &alen)) {
		perror("tcp_pump");
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		/* The sender, like a target writing Data-In. */
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (connect(s, (struct sockaddr *)&a, sizeof(a)))
			_exit(1);
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (;;)
			if (send(s, buf, size, MSG_NOSIGNAL) <= 0)
				_exit(0);
	}
	fd = accept(lfd, NULL, NULL);
	t0 = now_s();
	t1 = t0;
	while (t1 - t0 < secs) {
		ssize_t n = recv(fd, buf, size < 65536 ? 65536 : size, 0);

		if (n <= 0)
			break;
		bytes += (unsigned long long)n;
		if ((bytes & 0xfffff) < (unsigned long long)n)
			t1 = now_s();
	}
	t1 = now_s();
	close(fd);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	printf("mbps %.1f writes_per_s %.0f\n", bytes / (t1 - t0) / 1e6,
	       bytes / (double)size / (t1 - t0));
	return 0;
}

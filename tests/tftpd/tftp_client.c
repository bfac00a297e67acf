/*
 * wupan-tftp-client: a small TFTP reader for tests and benchmarks.  It sends
 * the options it is told to, so it can stand in for each boot firmware
 * (iPXE, OVMF's tsize probe and windowed fetch, PXELINUX), and it honours
 * RFC 7440 windowsize, which tftp-hpa, curl and busybox do not.
 *
 * usage: wupan-tftp-client [--opt NAME=VALUE]... [--out FILE] [--mode MODE]
 *        [--abort-after-oack] [--print-oack] [--rto MS] [--tries N]
 *        [--stall SECONDS] [--raw HEX] [--probe-first] HOST PORT FILE
 * --probe-first does what OVMF does: the same request plus "tsize 0" first,
 * error 8 after its OACK, then the real request from the same port.
 * --raw HEX sends those bytes as the request instead (FILE is then ignored).
 * --stall sends the request, never answers, and prints how many packets the
 * server sent in that time (the amplification test).
 * Exit status: 0 done, 3 the server sent an ERROR, 4 timeout, 2 usage.
 */
#include "common/parse.h"
#include "tftpd/tftp_pkt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint8_t pkt[65536 + 4];

/* Returns a monotonic clock reading in milliseconds. */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Appends a NUL-terminated field to a request; returns 0 or -1 if full. */
static int put_str(uint8_t *req, size_t *len, const char *s)
{
	size_t n = strlen(s) + 1;

	if (*len + n > 1024)
		return -1;
	memcpy(req + *len, s, n);
	*len += n;
	return 0;
}

/* Prints usage and exits with status 2. */
static void usage(void)
{
	fprintf(stderr, "usage: wupan-tftp-client [--opt NAME=VALUE]... "
			"[--out FILE] [--mode MODE] [--abort-after-oack]\n"
			"       [--print-oack] [--rto MS] [--tries N] "
			"HOST PORT FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "opt", required_argument, NULL, 'o' },
		{ "out", required_argument, NULL, 'f' },
		{ "mode", required_argument, NULL, 'm' },
		{ "abort-after-oack", no_argument, NULL, 'a' },
		{ "print-oack", no_argument, NULL, 'p' },
		{ "rto", required_argument, NULL, 'r' },
		{ "tries", required_argument, NULL, 't' },
		{ "stall", required_argument, NULL, 's' },
		{ "raw", required_argument, NULL, 'x' },
		{ "probe-first", no_argument, NULL, 'P' },
		{ 0 },
	};
	const char *out_path = "/dev/null", *mode = "octet", *raw = NULL;
	char opts[16][2][64];
	int nopts = 0, abort_oack = 0, print_oack = 0, probe = 0, c;
	struct sockaddr_storage srv0;
	socklen_t srv0_len;
	uint8_t preq[1024];
	size_t preq_len = 0;
	uint64_t rto = 200, tries_max = 25, stall = 0;
	struct addrinfo hints = { 0 }, *ai;
	struct sockaddr_storage srv;
	socklen_t srv_len;
	uint8_t req[1024], ack[4];
	size_t req_len, ack_len = 0;
	unsigned blksize = 512, ws = 1, tries = 0;
	uint64_t got = 0, bytes = 0, gap_for = UINT64_MAX;
	int fd, have_tid = 0;
	FILE *out;
	double t0;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': {
			const char *eq = strchr(optarg, '=');

			if (!eq || nopts >= 16 || eq - optarg >= 64 ||
			    strlen(eq + 1) >= 64)
				usage();
			memcpy(opts[nopts][0], optarg, (size_t)(eq - optarg));
			opts[nopts][0][eq - optarg] = 0;
			strcpy(opts[nopts][1], eq + 1);
			nopts++;
			break;
		}
		case 'f':
			out_path = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'a':
			abort_oack = 1;
			break;
		case 'p':
			print_oack = 1;
			break;
		case 'r':
			if (parse_u64(optarg, 1, 60000, &rto) != 0)
				usage();
			break;
		case 't':
			if (parse_u64(optarg, 1, 1000, &tries_max) != 0)
				usage();
			break;
		case 'x':
			raw = optarg;
			break;
		case 'P':
			probe = 1;
			break;
		case 's':
			if (parse_u64(optarg, 1, 600, &stall) != 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3)
		usage();
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai) != 0)
		usage();
	memcpy(&srv, ai->ai_addr, ai->ai_addrlen);
	srv_len = ai->ai_addrlen;
	srv0 = srv;
	srv0_len = srv_len;
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	freeaddrinfo(ai);
	if (fd < 0)
		return 1;

	/* The request: opcode, file, mode, then the options as given. */
	req[0] = 0;
	req[1] = TFTP_RRQ;
	req_len = 2;
	if (put_str(req, &req_len, argv[optind + 2]) ||
	    put_str(req, &req_len, mode))
		usage();
	for (int i = 0; i < nopts; i++)
		if (put_str(req, &req_len, opts[i][0]) ||
		    put_str(req, &req_len, opts[i][1]))
			usage();
	if (raw) {
		size_t hl = strlen(raw);

		if (hl % 2 || hl / 2 > sizeof(req))
			usage();
		for (req_len = 0; req_len < hl / 2; req_len++) {
			unsigned b;

			if (sscanf(raw + 2 * req_len, "%2x", &b) != 1)
				usage();
			req[req_len] = (uint8_t)b;
		}
	}
	if (probe) {
		memcpy(preq, req, req_len);
		preq_len = req_len;
		if (put_str(preq, &preq_len, "tsize") ||
		    put_str(preq, &preq_len, "0"))
			usage();
	}
	out = fopen(out_path, "wb");
	if (!out) {
		perror(out_path);
		return 1;
	}
	t0 = now_ms();
	if (probe)
		sendto(fd, preq, preq_len, 0, (struct sockaddr *)&srv, srv_len);
	else
		sendto(fd, req, req_len, 0, (struct sockaddr *)&srv, srv_len);
	if (stall) {
		unsigned count = 0;

		for (;;) {
			double left = t0 + (double)stall * 1000.0 - now_ms();
			struct pollfd pfd = { fd, POLLIN, 0 };

			if (left <= 0)
				break;
			if (poll(&pfd, 1, (int)left + 1) > 0 &&
			    recv(fd, pkt, sizeof(pkt), 0) >= 0)
				count++;
		}
		printf("%u\n", count);
		return 0;
	}
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		struct tftp_pkt p;
		ssize_t n;
		int r;

		/* Try the socket first: in a window the next block is usually
		 * there already, and poll would only add a system call. */
		n = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n < 0) {
			r = poll(&pfd, 1, (int)rto);
			if (r == 0) {
				if (++tries > tries_max) {
					fprintf(stderr, "timeout\n");
					return 4;
				}
				if (!have_tid && probe)
					sendto(fd, preq, preq_len, 0,
					       (struct sockaddr *)&srv,
					       srv_len);
				else if (!have_tid)
					sendto(fd, req, req_len, 0,
					       (struct sockaddr *)&srv,
					       srv_len);
				else
					sendto(fd, ack, ack_len, 0,
					       (struct sockaddr *)&srv,
					       srv_len);
			}
			continue;
		}
		if (n < 4)
			continue;
		if (!have_tid) {
			/* RFC 1350 §4: the first answer's port is the TID. */
			memcpy(&srv, &from, fl);
			srv_len = fl;
			have_tid = 1;
		} else if (fl != srv_len || memcmp(&from, &srv, fl) != 0) {
			continue;
		}
		if (pkt[1] == TFTP_OACK) {
			size_t off = 2;

			if (got)
				continue;
			while (off < (size_t)n) {
				const char *name = (const char *)pkt + off;
				size_t nl = strnlen(name, (size_t)n - off);
				const char *val = name + nl + 1;
				size_t vl;
				uint64_t v;

				if (off + nl + 1 >= (size_t)n)
					break;
				vl = strnlen(val, (size_t)n - off - nl - 1);
				if (print_oack)
					printf("%.*s=%.*s\n", (int)nl, name,
					       (int)vl, val);
				if (strcasecmp(name, "blksize") == 0 &&
				    parse_u64_n(val, vl, 8, 65464, &v) == 0)
					blksize = (unsigned)v;
				if (strcasecmp(name, "windowsize") == 0 &&
				    parse_u64_n(val, vl, 1, 65535, &v) == 0)
					ws = (unsigned)v;
				off += nl + 1 + vl + 1;
			}
			fflush(stdout);
			if (probe || abort_oack) {
				/* What UEFI firmware does after a tsize probe:
				 * error 8, then (OVMF) the real request from
				 * the same port. */
				size_t el = tftp_error_build(
					pkt, sizeof(pkt), TFTP_EOPTNEG,
					"tsize probe done");

				sendto(fd, pkt, el, 0, (struct sockaddr *)&srv,
				       srv_len);
				if (!probe)
					return 0;
				probe = 0;
				have_tid = 0;
				srv = srv0;
				srv_len = srv0_len;
				blksize = 512;
				ws = 1;
				sendto(fd, req, req_len, 0,
				       (struct sockaddr *)&srv, srv_len);
				continue;
			}
			ack_len = tftp_hdr_build(ack, TFTP_ACK, 0);
			sendto(fd, ack, ack_len, 0, (struct sockaddr *)&srv,
			       srv_len);
			tries = 0;
			continue;
		}
		if (tftp_pkt_parse(pkt, (size_t)n, &p) != 0)
			continue;
		if (p.op == TFTP_ERROR) {
			fprintf(stderr, "error %u: %.*s\n", p.errcode,
				(int)p.data_len, (const char *)p.data);
			return 3;
		}
		if (p.op != TFTP_DATA)
			continue;
		if (p.block != (uint16_t)(got + 1)) {
			/* RFC 7440 §4: on a gap, ACK the last block in order,
			 * once; a repeat of our last ACKed block means our ACK
			 * was lost, so repeat it. */
			if ((p.block == (uint16_t)got && ws == 1) ||
			    (p.block != (uint16_t)got && gap_for != got)) {
				gap_for = got;
				ack_len = tftp_hdr_build(ack, TFTP_ACK,
							 (uint16_t)got);
				sendto(fd, ack, ack_len, 0,
				       (struct sockaddr *)&srv, srv_len);
			}
			continue;
		}
		if (p.data_len > blksize)
			continue;
		got++;
		tries = 0;
		bytes += p.data_len;
		if (p.data_len &&
		    fwrite(p.data, 1, p.data_len, out) != p.data_len) {
			perror(out_path);
			return 1;
		}
		if (got % ws == 0 || p.data_len < blksize) {
			ack_len = tftp_hdr_build(ack, TFTP_ACK, (uint16_t)got);
			sendto(fd, ack, ack_len, 0, (struct sockaddr *)&srv,
			       srv_len);
		}
		if (p.data_len < blksize)
			break;
	}
	if (fclose(out) != 0) {
		perror(out_path);
		return 1;
	}
	{
		double ms = now_ms() - t0;

		fprintf(stderr, "%llu bytes in %.3f s, %.1f MB/s\n",
			(unsigned long long)bytes, ms / 1000.0,
			ms > 0 ? (double)bytes / ms / 1000.0 : 0.0);
	}
	return 0;
}

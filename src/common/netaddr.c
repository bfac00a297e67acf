/* Socket address printing and comparison: see netaddr.h. */
#include "common/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Reduces ss to an address family, 16 address bytes (IPv4 as mapped
 * IPv6) and a port; returns 0, or -1 for another family. */
static int canon(const struct sockaddr_storage *ss, uint8_t addr[16],
		 uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		memcpy(addr, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

void net_addr_str(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };
	char host[INET6_ADDRSTRLEN];
	uint8_t a[16];
	uint16_t port;

	if (canon(ss, a, &port)) {
		snprintf(out, cap, "?");
		return;
	}
	if (!memcmp(a, mapped, 12)) {
		inet_ntop(AF_INET, a + 12, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, port);
	} else {
		inet_ntop(AF_INET6, a, host, sizeof(host));
		snprintf(out, cap, "[%s]:%u", host, port);
	}
}

int net_addr_same(const struct sockaddr_storage *a,
		  const struct sockaddr_storage *b, int with_port)
{
	uint8_t x[16], y[16];
	uint16_t px, py;

	if (canon(a, x, &px) || canon(b, y, &py))
		return 0;
	return !memcmp(x, y, 16) && (!with_port || px == py);
}

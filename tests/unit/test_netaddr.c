/* Socket address printing and comparison (src/common/netaddr.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "common/netaddr.h"
#include "unit.h"

/* Builds an address from text and a port. */
static struct sockaddr_storage mk(const char *host, unsigned port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, host, &s6->sin6_addr);
		s6->sin6_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, host, &s4->sin_addr);
		s4->sin_port = htons((uint16_t)port);
	}
	return ss;
}

int main(void)
{
	char out[NET_ADDR_STRLEN];
	struct sockaddr_storage a = mk("10.0.0.7", 3260),
				b = mk("::ffff:10.0.0.7", 49152),
				c = mk("fe80::1", 69), d;

	net_addr_str(&a, out, sizeof(out));
	CHECK("ipv4", !strcmp(out, "10.0.0.7:3260"));
	net_addr_str(&b, out, sizeof(out));
	CHECK("ipv4-mapped printed as ipv4", !strcmp(out, "10.0.0.7:49152"));
	net_addr_str(&c, out, sizeof(out));
	CHECK("ipv6 in brackets", !strcmp(out, "[fe80::1]:69"));
	c = mk("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	net_addr_str(&c, out, sizeof(out));
	CHECK("longest fits",
	      !strcmp(out, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"));
	memset(&d, 0, sizeof(d));
	d.ss_family = AF_UNIX;
	net_addr_str(&d, out, sizeof(out));
	CHECK("other family", !strcmp(out, "?"));
	CHECK("same host, other port", net_addr_same(&a, &b, 0));
	CHECK("port compared when asked", !net_addr_same(&a, &b, 1));
	CHECK("different hosts", !net_addr_same(&a, &c, 0));
	CHECK("other family never equal", !net_addr_same(&d, &d, 0));
	return unit_done();
}

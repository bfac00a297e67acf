/* Socket addresses as both daemons print and compare them. */
#ifndef WUPAN_COMMON_NETADDR_H
#define WUPAN_COMMON_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Longest text net_addr_str writes: "[" IPv6 "]:" port, NUL. */
#define NET_ADDR_STRLEN 56

/* Formats ss as ADDR:PORT, an IPv6 address in brackets, an IPv4-mapped
 * IPv6 address as plain IPv4 (a dual-stack socket's IPv4 peers log as
 * such); "?" for another family. */
void net_addr_str(const struct sockaddr_storage *ss, char *out, size_t cap);

/* Returns 1 if a and b are the same address (and port, if with_port);
 * an IPv4-mapped address equals its IPv4 form. */
int net_addr_same(const struct sockaddr_storage *a,
		  const struct sockaddr_storage *b, int with_port);

#endif

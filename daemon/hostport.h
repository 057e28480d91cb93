/* "host:port" addresses: static peers, the listen address, `fieldmesh sync`. */
#ifndef FMD_HOSTPORT_H
#define FMD_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fieldmesh/control.h"

typedef struct fmd_hostport {
  char host[FM_CONTROL_ADDR_MAX];   /* a name, an IPv4 address or an IPv6 one (no brackets) */
  uint16_t port;
} fmd_hostport;

/* Parses "name:port", "1.2.3.4:port" or "[v6]:port" (port 1..65535).
 * Returns 0, or -1 with a short reason in |why| (|cap| bytes). */
int fmd_hostport_parse(const char *s, fmd_hostport *out, char *why, size_t cap);

/* The numeric socket address of |hp|; -1 when the host is not an IP
 * address (the listen address must be one). */
int fmd_hostport_numeric(const fmd_hostport *hp, struct sockaddr_storage *out);

/* "1.2.3.4:5" or "[::1]:5" for a socket address, into |out| (|cap| bytes). */
void fmd_hostport_format(const struct sockaddr *sa, char *out, size_t cap);

#endif

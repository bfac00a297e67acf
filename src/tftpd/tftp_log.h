/* Escaping of untrusted text (client file names) before it reaches a log. */
#ifndef WUPAN_TFTPD_TFTP_LOG_H
#define WUPAN_TFTPD_TFTP_LOG_H

#include <stddef.h>

/*
 * Copies in[0..len) to out as printable ASCII: '"' and '\\' are escaped with
 * a backslash, every other byte outside 0x20..0x7e becomes \xHH.  Output
 * that would not fit cap ends in "...".  Returns the output length.
 */
size_t tftp_log_escape(const char *in, size_t len, char *out, size_t cap);

#endif

/* Escaping of untrusted text for logs: see tftp_log.h. */
#include "tftpd/tftp_log.h"

#include <string.h>

size_t tftp_log_escape(const char *in, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (cap < 4) {
		if (cap)
			out[0] = 0;
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		char enc[4];
		size_t n = 0;

		if (c == '"' || c == '\\') {
			enc[n++] = '\\';
			enc[n++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			enc[n++] = (char)c;
		} else {
			enc[n++] = '\\';
			enc[n++] = 'x';
			enc[n++] = hex[c >> 4];
			enc[n++] = hex[c & 15];
		}
		if (o + n + 4 > cap) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, enc, n);
		o += n;
	}
	out[o] = 0;
	return o;
}

/* The daemons' log line: UTC timestamp, program name, message. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static const char *log_prog = "wupan";

void log_init(const char *prog)
{
	log_prog = prog;
}

void log_line(const char *fmt, ...)
{
	char line[2048], ts[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;
	int n;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s: ", ts, log_prog);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line, so lines of concurrent writers never mix. */
	fprintf(stderr, "%s\n", line);
}

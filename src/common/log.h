/*
 * The one log line format of every wupan daemon, on standard error:
 *   2026-11-29T05:44:44Z wupan-target: message
 * UTC, so that lines from several servers sort together, and no local time
 * zone file is needed after a chroot.
 */
#ifndef WUPAN_COMMON_LOG_H
#define WUPAN_COMMON_LOG_H

/* Sets the program name that starts every line (a static string). */
void log_init(const char *prog);

/* Writes one timestamped line; fmt has no trailing newline. */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

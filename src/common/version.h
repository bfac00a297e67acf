/* The release every wupan program reports with --version. */
#ifndef WUPAN_COMMON_VERSION_H
#define WUPAN_COMMON_VERSION_H

#define WUPAN_VERSION "0.2.0"

/* The --version text: "PROG (wupan) VERSION". */
#define WUPAN_VERSION_LINE(prog) prog " (wupan) " WUPAN_VERSION "\n"

#endif

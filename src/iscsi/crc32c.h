/* CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 §13.1). */
#ifndef WUPAN_ISCSI_CRC32C_H
#define WUPAN_ISCSI_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Returns the CRC32C of buf, continuing from crc (start with 0). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif

/* iSCSI BHS framing helpers: see pdu.h. */
#include "iscsi/pdu.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"

int iscsi_pdu_lens_parse(const uint8_t *bhs, size_t max_ahs, size_t max_data,
			 int header_digest, int data_digest,
			 struct iscsi_pdu_lens *out)
{
	size_t ahs = (size_t)bhs[4] * 4;
	size_t data = get_be24(bhs + 5);

	if (ahs > max_ahs || data > max_data)
		return -EMSGSIZE;
	out->ahs_len = ahs;
	out->data_len = data;
	out->total = ISCSI_BHS_LEN + ahs + (header_digest ? 4 : 0) +
		     iscsi_pad4(data) + (data && data_digest ? 4 : 0);
	return 0;
}

void iscsi_pdu_init(uint8_t *bhs, uint8_t opcode, uint8_t flags,
		    size_t data_len)
{
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = opcode;
	bhs[1] = flags;
	put_be24(bhs + 5, (uint32_t)data_len);
}

int iscsi_lun_parse(const uint8_t *p)
{
	/* SAM-5 §4.7: only the first level is used; the rest must be zero. */
	for (int i = 2; i < 8; i++)
		if (p[i])
			return -1;
	switch (p[0] >> 6) {
	case 0:
		return p[0] ? -1 : p[1];
	case 1:
		return (p[0] & 0x3f) << 8 | p[1];
	default:
		return -1;
	}
}

void iscsi_lun_build(uint8_t *p, unsigned lun)
{
	memset(p, 0, 8);
	if (lun < 256) {
		p[1] = (uint8_t)lun;
	} else {
		p[0] = (uint8_t)(0x40 | ((lun >> 8) & 0x3f));
		p[1] = (uint8_t)lun;
	}
}

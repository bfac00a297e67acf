/* Unit tests for the rules of a room from one image: the overlay LUN
 * syntax, client file names, and the boot rule over recorded login
 * sequences (which ISIDs a PC presents from power-on to shutdown). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/config.h"
#include "iscsi/fleet_rules.h"
#include "unit.h"

/* ISIDs as the initiators send them.  iPXE (src/net/tcp/iscsi.c): IANA
 * format, enterprise number 10019 (Fen Systems), a qualifier (0 in older
 * releases, random per connection in newer).  open-iscsi (DRIVER_ISID_0..2
 * in usr/config.h): OUI format 00:02:3d and a session number.  Windows'
 * value here is an assumption, not a recording: the rule only asks whether
 * an ISID is iPXE's. */
static const uint8_t ipxe_old[6] = { 0x40, 0x00, 0x27, 0x23, 0x00, 0x00 };
static const uint8_t ipxe_a[6] = { 0x40, 0x00, 0x27, 0x23, 0x25, 0x09 };
static const uint8_t ipxe_b[6] = { 0x40, 0x00, 0x27, 0x23, 0x8f, 0x11 };
static const uint8_t open_iscsi[6] = { 0x00, 0x02, 0x3d, 0x00, 0x00, 0x01 };
static const uint8_t open_iscsi2[6] = { 0x00, 0x02, 0x3d, 0x01, 0x00, 0x00 };
static const uint8_t windows[6] = { 0x40, 0x00, 0x01, 0x37, 0x00, 0x00 };

/* One login of a recorded sequence and what it must do. */
struct step {
	const uint8_t *isid;
	int fresh; /* the overlay starts empty */
};

/* Replays logins in mode reset_mode from no overlay; returns the index of
 * the first step whose outcome differs, or -1. */
static int replay(int reset_mode, const struct step *s, size_t n)
{
	int exists = 0;
	enum ovl_phase phase = OVL_PHASE_FIRMWARE;

	for (size_t i = 0; i < n; i++) {
		struct fleet_boot b =
			fleet_boot_decide(reset_mode, exists, phase, s[i].isid);

		if (b.fresh != s[i].fresh)
			return (int)i;
		exists = 1;
		phase = b.phase;
	}
	return -1;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* linger= values and what fleet_lun_parse makes of them: the value, or
 * (err set) the error it names. */
static const struct {
	const char *arg;
	int linger;
	const char *err;
} lingers[] = {
	{ "golden=rbd:p/g overlays=rbd:p/r", -1, NULL },
	{ "golden=rbd:p/g overlays=rbd:p/r linger=0", 0, NULL },
	{ "golden=rbd:p/g overlays=rbd:p/r linger=600", 600, NULL },
	{ "golden=/a overlays=/o linger=5", 0,
	  "spares= and linger= are for overlays on Ceph" },
	{ "golden=rbd:p/g overlays=rbd:p/r linger=601", 0,
	  "bad or repeated LUN field 'linger=601'" },
	{ "golden=rbd:p/g overlays=rbd:p/r linger=5 linger=6", 0,
	  "bad or repeated LUN field 'linger=6'" },
};

int main(void)
{
	struct tcfg_lun l;
	struct tcfg cfg = { 0 };
	char err[256], name[64];
	uint64_t v;

	/* A Linux PC, BIOS or UEFI: iPXE logs in, reads the kernel, the
	 * initramfs logs in from the iBFT, a network blip makes it log in
	 * again; then the PC restarts. */
	static const struct step linux_boots[] = {
		{ ipxe_a, 1 },      { open_iscsi, 0 }, { open_iscsi, 0 },
		{ open_iscsi2, 0 }, { ipxe_b, 1 },     { open_iscsi, 0 },
	};
	CHECK("linux: reset at power-on only",
	      replay(1, linux_boots, N(linux_boots)) == -1);
	/* iPXE drops and reopens its connection during the firmware stage
	 * (a lost packet while GRUB reads): the same boot. */
	static const struct step ipxe_retry[] = {
		{ ipxe_a, 1 },     { ipxe_b, 0 },   { ipxe_a, 0 },
		{ open_iscsi, 0 }, { ipxe_old, 1 },
	};
	CHECK("ipxe reconnect before the OS keeps",
	      replay(1, ipxe_retry, N(ipxe_retry)) == -1);
	/* Windows: iPXE, then the Microsoft initiator through the iBFT. */
	static const struct step win_boots[] = {
		{ ipxe_old, 1 }, { windows, 0 }, { windows, 0 },
		{ ipxe_old, 1 }, { windows, 0 },
	};
	CHECK("windows: reset at power-on only",
	      replay(1, win_boots, N(win_boots)) == -1);
	/* Persistent: nothing after the first login starts empty. */
	static const struct step persist[] = {
		{ ipxe_a, 1 },
		{ open_iscsi, 0 },
		{ ipxe_b, 0 },
		{ open_iscsi, 0 },
	};
	CHECK("persistent keeps across boots",
	      replay(0, persist, N(persist)) == -1);
	/* A client seen first from its OS (target restarted mid-boot with
	 * its overlay gone): created, then kept. */
	static const struct step os_first[] = {
		{ open_iscsi, 1 },
		{ open_iscsi, 0 },
		{ ipxe_a, 1 },
	};
	CHECK("os first", replay(1, os_first, N(os_first)) == -1);
	CHECK("ipxe isid", fleet_isid_ipxe(ipxe_old) &&
				   fleet_isid_ipxe(ipxe_b) &&
				   !fleet_isid_ipxe(open_iscsi) &&
				   !fleet_isid_ipxe(windows));
	{
		struct fleet_boot b =
			fleet_boot_decide(1, 1, OVL_PHASE_FIRMWARE, windows);

		CHECK("os login records os",
		      !b.fresh && b.phase == OVL_PHASE_OS);
		b = fleet_boot_decide(1, 1, OVL_PHASE_OS, ipxe_a);
		CHECK("new boot records firmware",
		      b.fresh && b.phase == OVL_PHASE_FIRMWARE);
	}

	/* Names: lower case, nothing that leaves the directory. */
	CHECK("name plain", fleet_client_name("iqn.2025-01.org.wupan:PC1", name,
					      sizeof(name)) == 0 &&
				    !strcmp(name, "iqn.2025-01.org.wupan:pc1"));
	CHECK("name escapes",
	      fleet_client_name("../etc/pass wd", name, sizeof(name)) == 0 &&
		      !strcmp(name, "_._etc_pass_wd"));
	CHECK("name empty", fleet_client_name("", name, sizeof(name)) != 0);
	CHECK("name cut", fleet_client_name("abcdefghij", name, 5) == 0 &&
				  !strcmp(name, "abcd"));

	/* Sizes. */
	CHECK("size plain", fleet_size_parse("4096", &v) == 0 && v == 4096);
	CHECK("size G", fleet_size_parse("2G", &v) == 0 && v == 2ull << 30);
	CHECK("size bad", fleet_size_parse("2X", &v) != 0 &&
				  fleet_size_parse("G", &v) != 0 &&
				  fleet_size_parse("-1", &v) != 0 &&
				  fleet_size_parse("99999999999T", &v) != 0);

	/* The LUN syntax. */
	memset(&l, 0, sizeof(l));
	CHECK("lun full",
	      fleet_lun_parse(&l,
			      "golden=/a.img overlays=/o mode=persistent "
			      "limit=1G,dir-limit=10G",
			      err, sizeof(err), "x") == 0 &&
		      !strcmp(l.path, "/a.img") && !strcmp(l.overlays, "/o") &&
		      l.mode == TCFG_OVL_PERSISTENT && l.limit == 1ull << 30 &&
		      l.dir_limit == 10ull << 30);
	free(l.path);
	free(l.overlays);
	memset(&l, 0, sizeof(l));
	memset(&l, 0, sizeof(l));
	CHECK("lun update seat",
	      fleet_lun_parse(&l, "golden=/a overlays=/o update=iqn.x:admin*",
			      err, sizeof(err), "x") == 0 &&
		      l.update && !strcmp(l.update, "iqn.x:admin*"));
	free(l.path);
	free(l.overlays);
	free(l.update);
	memset(&l, 0, sizeof(l));
	CHECK("lun spares on Ceph",
	      fleet_lun_parse(&l, "golden=rbd:p/g overlays=rbd:p/r spares=16",
			      err, sizeof(err), "x") == 0 &&
		      l.spares == 16);
	free(l.path);
	free(l.overlays);
	memset(&l, 0, sizeof(l));
	CHECK("lun spares in a directory refused",
	      fleet_lun_parse(&l, "golden=/a overlays=/o spares=2", err,
			      sizeof(err), "x") != 0 &&
		      strstr(err,
			     "spares= and linger= are for overlays on Ceph"));
	free(l.path);
	free(l.overlays);
	memset(&l, 0, sizeof(l));
	/* linger=: Ceph only, 0-600 s, once; -1 when not given. */
	for (size_t i = 0; i < sizeof(lingers) / sizeof(lingers[0]); i++) {
		int rc = fleet_lun_parse(&l, lingers[i].arg, err, sizeof(err),
					 "x");

		CHECK(lingers[i].arg,
		      lingers[i].err
			      ? rc != 0 && strstr(err, lingers[i].err)
			      : rc == 0 && l.linger == lingers[i].linger);
		free(l.path);
		free(l.overlays);
		memset(&l, 0, sizeof(l));
	}
	CHECK("lun spares bad",
	      fleet_lun_parse(&l, "golden=rbd:p/g overlays=rbd:p/r spares=257",
			      err, sizeof(err), "x") != 0 &&
		      strstr(err, "bad or repeated LUN field 'spares=257'"));
	free(l.path);
	free(l.overlays);
	memset(&l, 0, sizeof(l));
	CHECK("lun default reset",
	      fleet_lun_parse(&l, "golden=/a,overlays=/o", err, sizeof(err),
			      "x") == 0 &&
		      l.mode == TCFG_OVL_RESET && !l.limit);
	free(l.path);
	free(l.overlays);
	memset(&l, 0, sizeof(l));
	CHECK("lun needs overlays",
	      fleet_lun_parse(&l, "golden=/a", err, sizeof(err), "x") != 0 &&
		      strstr(err, "overlays="));
	free(l.path);
	memset(&l, 0, sizeof(l));
	CHECK("lun bad mode",
	      fleet_lun_parse(&l, "golden=/a overlays=/o mode=sometimes", err,
			      sizeof(err), "x") != 0 &&
		      strstr(err, "mode"));
	free(l.path);
	free(l.overlays);
	memset(&l, 0, sizeof(l));
	CHECK("lun unknown field",
	      fleet_lun_parse(&l, "golden=/a overlays=/o colour=red", err,
			      sizeof(err), "x") != 0 &&
		      strstr(err, "colour"));
	free(l.path);
	free(l.overlays);
	memset(&l, 0, sizeof(l));
	CHECK("lun twice",
	      fleet_lun_parse(&l, "golden=/a golden=/b overlays=/o", err,
			      sizeof(err), "x") != 0);
	free(l.path);
	free(l.overlays);

	/* In a configuration file, the rest of the line. */
	CHECK("config line",
	      tcfg_parse_text(&cfg, "t.conf",
			      "target iqn.2025-01.org.wupan:room\n"
			      "  lun golden=/srv/room.img overlays=/srv/ov "
			      "mode=persistent limit=8G\r\n"
			      "  lun /srv/games.img,ro\n",
			      err, sizeof(err)) == 0 &&
		      cfg.targets[0]->n_luns == 2 &&
		      !strcmp(cfg.targets[0]->luns[0].path, "/srv/room.img") &&
		      !strcmp(cfg.targets[0]->luns[0].overlays, "/srv/ov") &&
		      cfg.targets[0]->luns[0].mode == TCFG_OVL_PERSISTENT &&
		      cfg.targets[0]->luns[0].limit == 8ull << 30 &&
		      !cfg.targets[0]->luns[1].overlays &&
		      cfg.targets[0]->luns[1].ro);
	tcfg_free(&cfg);
	CHECK("config error names the line",
	      tcfg_parse_text(&cfg, "t.conf",
			      "target iqn.2025-01.org.wupan:room\n"
			      "  lun golden=/a overlays=/o mode=x\n",
			      err, sizeof(err)) != 0 &&
		      strstr(err, "t.conf:2"));
	tcfg_free(&cfg);
	CHECK("rbd overlays with an rbd golden",
	      tcfg_parse_text(&cfg, "t.conf",
			      "target iqn.2025-01.org.wupan:room\n"
			      "  lun golden=rbd:rbd/room overlays=rbd:rbd/r "
			      "mode=persistent update=iqn.x:admin\n",
			      err, sizeof(err)) == 0 &&
		      !strcmp(cfg.targets[0]->luns[0].overlays, "rbd:rbd/r"));
	tcfg_free(&cfg);
	CHECK("rbd overlays need an rbd golden",
	      tcfg_parse_text(&cfg, "t.conf",
			      "target iqn.2025-01.org.wupan:room\n"
			      "  lun golden=/a.img overlays=rbd:rbd\n",
			      err, sizeof(err)) != 0 &&
		      strstr(err, "goes with golden=rbd:"));
	tcfg_free(&cfg);
	CHECK("rbd overlays take no limit",
	      tcfg_parse_text(
		      &cfg, "t.conf",
		      "target iqn.2025-01.org.wupan:room\n"
		      "  lun golden=rbd:rbd/a overlays=rbd:rbd limit=1G\n",
		      err, sizeof(err)) != 0 &&
		      strstr(err, "pool"));
	tcfg_free(&cfg);
	{
		char rec[256], comment[16];
		unsigned parent = 9;
		long long when = 0;

		fleet_ver_build(rec, sizeof(rec), 2, 1700000000, "office 2026");
		CHECK("version record round trip",
		      fleet_ver_parse(rec, 3, &parent, &when, comment,
				      sizeof(comment)) == 0 &&
			      parent == 2 && when == 1700000000 &&
			      !strcmp(comment, "office 2026"));
		CHECK("version record: parent must be below",
		      fleet_ver_parse(rec, 2, &parent, NULL, NULL, 0) ==
			      -EINVAL);
		CHECK("version record: damaged",
		      fleet_ver_parse("parent x\n", 3, &parent, NULL, NULL,
				      0) == -EINVAL);
	}
	CHECK("plain lun still one word",
	      tcfg_parse_text(&cfg, "t.conf",
			      "target iqn.2025-01.org.wupan:room\n"
			      "  lun /a.img extra\n",
			      err, sizeof(err)) != 0 &&
		      strstr(err, "extra"));
	tcfg_free(&cfg);
	return unit_done();
}

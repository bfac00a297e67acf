/* Unit tests for wupan-target's configuration: file syntax, errors naming
 * file and line, command line, globs and reload comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iscsi/config.h"
#include "unit.h"

/* Parses text; returns the rc and leaves the message in err. */
static int parse(struct tcfg *cfg, const char *text, char *err)
{
	tcfg_free(cfg);
	return tcfg_parse_text(cfg, "t.conf", text, err, 256);
}

int main(void)
{
	struct tcfg cfg = { 0 }, cfg2 = { 0 };
	char err[256], host[64];
	unsigned port;
	char path[] = "/tmp/wupan-secret-XXXXXX";
	int fd;

	CHECK("full target",
	      parse(&cfg,
		    "# fleet\nlisten 127.0.0.1:3260\n"
		    "target iqn.2025-01.org.wupan:pc1\n"
		    "  lun /srv/a.img\n  lun /srv/b.img,ro\n"
		    "  chap user1:Secret-123456\n  mutual-chap tgt:Other-123456\n"
		    "  allow iqn.2025-01.org.wupan:pc1*\n  portal 10.0.0.1:3260\n"
		    "target iqn.2025-01.org.wupan:pc2\n  lun /srv/c.img\n",
		    err) == 0);
	CHECK("two targets", cfg.n_targets == 2 && cfg.n_listen == 1);
	CHECK("luns in order",
	      cfg.targets[0]->n_luns == 2 &&
		      !strcmp(cfg.targets[0]->luns[1].path, "/srv/b.img") &&
		      cfg.targets[0]->luns[1].ro &&
		      !cfg.targets[0]->luns[0].ro);
	CHECK("chap",
	      !strcmp(cfg.targets[0]->chap.user, "user1") &&
		      !strcmp(cfg.targets[0]->chap.secret, "Secret-123456"));
	CHECK("find case-insensitive",
	      tcfg_find(&cfg, "IQN.2025-01.ORG.WUPAN:PC2") == cfg.targets[1]);
	CHECK("acl",
	      tcfg_allows(cfg.targets[0], "iqn.2025-01.org.wupan:pc1-a") &&
		      !tcfg_allows(cfg.targets[0],
				   "iqn.2025-01.org.wupan:pc2") &&
		      tcfg_allows(cfg.targets[1], "anything"));
	CHECK("no lun",
	      parse(&cfg, "target iqn.2025-01.org.wupan:x\n", err) == -1 &&
		      strstr(err, "t.conf:1") && strstr(err, "no LUN"));
	CHECK("option before target", parse(&cfg, "\n\nlun /a\n", err) == -1 &&
					      strstr(err, "t.conf:3"));
	CHECK("unknown option",
	      parse(&cfg, "target iqn.2025-01.org.wupan:x\nfrob 1\n", err) ==
			      -1 &&
		      strstr(err, "t.conf:2") && strstr(err, "frob"));
	CHECK("bad name", parse(&cfg, "target disk1\nlun /a\n", err) == -1 &&
				  strstr(err, "t.conf:1"));
	CHECK("duplicate target",
	      parse(&cfg,
		    "target iqn.2025-01.org.wupan:x\nlun /a\n"
		    "target iqn.2025-01.org.wupan:X\nlun /b\n",
		    err) == -1 &&
		      strstr(err, "t.conf:3"));
	CHECK("chap syntax",
	      parse(&cfg,
		    "target iqn.2025-01.org.wupan:x\nlun /a\nchap nocolon\n",
		    err) == -1 &&
		      strstr(err, "t.conf:3"));
	CHECK("same secret both ways",
	      parse(&cfg,
		    "target iqn.2025-01.org.wupan:x\nlun /a\n"
		    "chap a:s3cret-123456\nmutual-chap b:s3cret-123456\n",
		    err) == -1 &&
		      strstr(err, "differ"));
	CHECK("mutual without chap",
	      parse(&cfg,
		    "target iqn.2025-01.org.wupan:x\nlun /a\n"
		    "mutual-chap b:s3cret-123456\n",
		    err) == -1);
	CHECK("extra word",
	      parse(&cfg, "target iqn.2025-01.org.wupan:x extra\n", err) == -1);
	CHECK("bad listen", parse(&cfg, "listen 1.2.3.4:99999\n", err) == -1 &&
				    strstr(err, "t.conf:1"));
	CHECK("missing value", parse(&cfg, "listen\n", err) == -1);

	fd = mkstemp(path);
	if (fd >= 0) {
		dprintf(fd, "Secret-From-File\n");
		close(fd);
	}
	{
		char arg[128];
		char *argv[] = {
			"wupan-target", "--target", "iqn.2025-01.org.wupan:cli",
			"--lun",        "/a",       "--lun",
			"/b,ro",        "--chap",   arg,
			"--allow",      "iqn.*",    "--listen",
			"[::1]:23260"
		};

		snprintf(arg, sizeof(arg), "u:@%s", path);
		tcfg_free(&cfg);
		CHECK("command line",
		      tcfg_parse_args(&cfg, 13, argv, err, 256) == 0 &&
			      cfg.n_targets == 1 &&
			      cfg.targets[0]->n_luns == 2 && cfg.n_listen == 1);
		CHECK("secret from file",
		      cfg.n_targets == 1 && !strcmp(cfg.targets[0]->chap.secret,
						    "Secret-From-File"));
		snprintf(arg, sizeof(arg), "u:@/nonexistent/secret");
		tcfg_free(&cfg);
		CHECK("secret file missing",
		      tcfg_parse_args(&cfg, 13, argv, err, 256) == -1 &&
			      strstr(err, "/nonexistent/secret"));
	}
	unlink(path);
	{
		char *argv[] = { "wupan-target", "--lun", "/a" };

		tcfg_free(&cfg);
		CHECK("lun without target",
		      tcfg_parse_args(&cfg, 3, argv, err, 256) == -1);
	}
	{
		char *argv[] = { "wupan-target", "--config",
				 "/nonexistent/wupan.conf" };

		tcfg_free(&cfg);
		CHECK("config missing",
		      tcfg_parse_args(&cfg, 3, argv, err, 256) == -1 &&
			      strstr(err, "/nonexistent/wupan.conf"));
	}
	{
		char *argv[] = { "wupan-target" };

		tcfg_free(&cfg);
		CHECK("no target",
		      tcfg_parse_args(&cfg, 1, argv, err, 256) == -1);
	}

	{
		char *argv[] = { "wupan-target",
				 "--login-timeout",
				 "5",
				 "--max-per-source",
				 "3",
				 "--target",
				 "iqn.2025-01.org.wupan:x",
				 "--lun",
				 "/a" };
		char *bad[] = { "wupan-target",
				"--login-timeout",
				"0",
				"--target",
				"iqn.2025-01.org.wupan:x",
				"--lun",
				"/a" };

		tcfg_free(&cfg);
		CHECK("limits: options",
		      tcfg_parse_args(&cfg, 9, argv, err, 256) == 0 &&
			      cfg.limits.login_timeout == 5 &&
			      cfg.limits.max_per_source == 3 &&
			      cfg.limits.idle_timeout == TCFG_IDLE_TIMEOUT &&
			      cfg.limits.max_conns == TCFG_MAX_CONNS);
		tcfg_free(&cfg);
		CHECK("limits: zero login timeout refused",
		      tcfg_parse_args(&cfg, 7, bad, err, 256) == -1 &&
			      strstr(err, "login-timeout"));
		tcfg_free(&cfg);
		CHECK("limits: file directive",
		      tcfg_parse_text(
			      &cfg, "l.conf",
			      "idle-timeout 0\ntarget iqn.2025-01.org.wupan:x\n"
			      "lun /a\nmax-connections 10\n",
			      err, 256) == 0 &&
			      cfg.limits.idle_timeout == 0 &&
			      cfg.limits.max_conns == 10);
		tcfg_free(&cfg);
		CHECK("limits: junk refused",
		      tcfg_parse_text(&cfg, "l.conf", "max-per-source 5x\n",
				      err, 256) == -1);
		tcfg_free(&cfg);
	}

	parse(&cfg, "target iqn.2025-01.org.wupan:x\nlun /a\n", err);
	tcfg_parse_text(&cfg2, "u.conf",
			"target iqn.2025-01.org.wupan:x\nlun /a\n", err, 256);
	CHECK("same target", tcfg_target_same(cfg.targets[0], cfg2.targets[0]));
	tcfg_free(&cfg2);
	tcfg_parse_text(&cfg2, "u.conf",
			"target iqn.2025-01.org.wupan:x\nlun /a,ro\n", err,
			256);
	CHECK("changed target",
	      !tcfg_target_same(cfg.targets[0], cfg2.targets[0]));
	tcfg_free(&cfg2);
	tcfg_free(&cfg);

	CHECK("glob star", tcfg_glob("iqn.*:pc*", "iqn.2025-01.org:pc7"));
	CHECK("glob case", tcfg_glob("IQN.X", "iqn.x"));
	CHECK("glob miss", !tcfg_glob("iqn.*:pc", "iqn.x:pc7"));
	CHECK("glob all", tcfg_glob("*", ""));
	CHECK("glob exact", !tcfg_glob("abc", "abcd"));
	CHECK("addr v4", tcfg_split_addr("10.0.0.1:3261", host, sizeof(host),
					 &port) == 0 &&
				 !strcmp(host, "10.0.0.1") && port == 3261);
	CHECK("addr default port",
	      tcfg_split_addr("10.0.0.1", host, sizeof(host), &port) == 0 &&
		      port == 3260);
	CHECK("addr v6",
	      tcfg_split_addr("[::1]:23260", host, sizeof(host), &port) == 0 &&
		      !strcmp(host, "::1") && port == 23260);
	CHECK("addr bare v6",
	      tcfg_split_addr("fe80::1", host, sizeof(host), &port) == 0 &&
		      !strcmp(host, "fe80::1") && port == 3260);
	CHECK("addr bad port",
	      tcfg_split_addr("h:0", host, sizeof(host), &port) != 0);
	CHECK("addr unclosed",
	      tcfg_split_addr("[::1", host, sizeof(host), &port) != 0);
	{
		char pool[TCFG_NAME_MAX + 1], image[TCFG_NAME_MAX + 1];
		char snap[TCFG_NAME_MAX + 1];

		CHECK("rbd split image",
		      tcfg_rbd_split("rbd/disk", pool, image, snap) == 0 &&
			      !strcmp(pool, "rbd") && !strcmp(image, "disk") &&
			      !snap[0]);
		CHECK("rbd split snapshot",
		      tcfg_rbd_split("p/i@v1", pool, image, snap) == 0 &&
			      !strcmp(image, "i") && !strcmp(snap, "v1"));
		CHECK("rbd split rejects",
		      tcfg_rbd_split("disk", pool, image, snap) &&
			      tcfg_rbd_split("/disk", pool, image, snap) &&
			      tcfg_rbd_split("p/", pool, image, snap) &&
			      tcfg_rbd_split("p/i@", pool, image, snap) &&
			      tcfg_rbd_split("p/a/b", pool, image, snap) &&
			      tcfg_rbd_split("p@s/i", pool, image, snap) &&
			      tcfg_rbd_split("p/i@a@b", pool, image, snap));
	}
	CHECK("rbd LUNs and ceph settings",
	      parse(&cfg,
		    "ceph-conf /etc/ceph/site.conf\nceph-id gw1\n"
		    "ceph-keyring /etc/ceph/gw1.keyring\nceph-timeout 10\n"
		    "target iqn.2025-01.org.wupan:rbd\n  lun rbd:rbd/disk\n"
		    "  lun rbd:rbd/disk@v1\n",
		    err) == 0 &&
		      !strcmp(cfg.ceph.conf, "/etc/ceph/site.conf") &&
		      !strcmp(cfg.ceph.id, "gw1") &&
		      !strcmp(cfg.ceph.keyring, "/etc/ceph/gw1.keyring") &&
		      cfg.ceph.timeout == 10 && !cfg.targets[0]->luns[0].ro &&
		      cfg.targets[0]->luns[1].ro);
	CHECK("rbd LUN without an image",
	      parse(&cfg, "target iqn.2025-01.org.wupan:rbd\n  lun rbd:rbd\n",
		    err) &&
		      strstr(err, "t.conf:2") && strstr(err, "rbd:POOL/IMAGE"));
	CHECK("ceph-timeout bounded", parse(&cfg, "ceph-timeout 0\n", err) &&
					      strstr(err, "ceph-timeout"));
	CHECK("golden-cache: unset by default, then the MiB given",
	      parse(&cfg, "target iqn.2025-01.org.wupan:r\n  lun rbd:rbd/d\n",
		    err) == 0 &&
		      !cfg.ceph.cache_set &&
		      parse(&cfg,
			    "golden-cache 0\ntarget iqn.2025-01.org.wupan:r\n"
			    "  lun rbd:rbd/d\n",
			    err) == 0 &&
		      cfg.ceph.cache_set && cfg.ceph.cache_mib == 0 &&
		      parse(&cfg,
			    "golden-cache 1024\ntarget iqn.2025-01.org.wupan:r\n"
			    "  lun rbd:rbd/d\n",
			    err) == 0 &&
		      cfg.ceph.cache_mib == 1024);
	CHECK("golden-cache bounded",
	      parse(&cfg, "golden-cache 1048577\n", err) &&
		      strstr(err, "golden-cache") &&
		      parse(&cfg, "golden-cache x\n", err));
	tcfg_free(&cfg);
	return unit_done();
}

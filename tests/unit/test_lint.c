/* Unit tests of wupan-lint's core: iSCSI names, commands, and one finding
 * per case on small inline files. */
#include <string.h>

#include "lint/lint.h"
#include "unit.h"

/* What a lint run found: counts and the text of the last finding. */
struct found {
	unsigned errors, warnings, line;
	char last[512];
};

static void collect(void *ctx, size_t file, unsigned line,
		    enum lint_severity sev, const char *msg)
{
	struct found *f = ctx;

	(void)file;
	if (sev == LINT_ERROR)
		f->errors++;
	else
		f->warnings++;
	f->line = line;
	snprintf(f->last, sizeof(f->last), "%s", msg);
}

/* Lints one inline file of the given kind. */
static struct found run(enum lint_kind kind, const char *text)
{
	struct found f = { 0 };
	struct lint_file file = { "t.ipxe", text, strlen(text) };
	struct lint_result res;

	lint_check(kind, &file, 1, collect, &f, &res);
	return f;
}

/* 1 if kind/text gives exactly one finding of sev containing want. */
static int one(enum lint_kind kind, const char *text, enum lint_severity sev,
	       const char *want)
{
	struct found f = run(kind, text);
	unsigned n = sev == LINT_ERROR ? f.errors : f.warnings;
	unsigned other = sev == LINT_ERROR ? f.warnings : f.errors;

	if (n != 1 || other != 0 || !strstr(f.last, want)) {
		printf("  got %u errors, %u warnings, last: %s\n", f.errors,
		       f.warnings, f.last);
		return 0;
	}
	return 1;
}

static void test_iscsi_names(void)
{
	static const struct {
		const char *name;
		int ok;
	} v[] = {
		{ "iqn.2026-01.org.wupan:disk", 1 },
		{ "iqn.1992-01.com.example", 1 },
		{ "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309", 1 },
		{ "eui.02004567a425678d", 1 },
		{ "naa.52004567ba64678d", 1 },
		{ "naa.62004567ba64678d0123456789abcdef", 1 },
		{ "iqn.2026-01.org.x:my disk", 0 },
		{ "org.example:x", 0 },
		{ "IQN.2026-01.org.x", 0 },
		{ "iqn.2026-01.Org.x", 0 },
		{ "iqn.26-01.org.x", 0 },
		{ "iqn.2026-13.org.x", 0 },
		{ "iqn.2026-00.org.x", 0 },
		{ "iqn.2026-01.", 0 },
		{ "iqn.2026-01.:x", 0 },
		{ "eui.02004567a425678", 0 },
		{ "eui.02004567a425678g", 0 },
		{ "naa.52004567ba64678d00", 0 },
		{ "", 0 },
	};
	const char *why;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK(v[i].name, lint_iscsi_name(v[i].name, strlen(v[i].name),
						 &why) == v[i].ok);
	char longname[300] = "iqn.2026-01.org.x:";

	memset(longname + 18, 'a', 206);
	longname[224] = '\0';
	CHECK("224-byte name (RFC 3720 §3.2.6.1: at most 223)",
	      !lint_iscsi_name(longname, 224, &why));
	CHECK("223-byte name", lint_iscsi_name(longname, 223, &why));
}

static void test_commands(void)
{
	CHECK("sanboot is a command", lint_is_command("sanboot", 7));
	CHECK("chain is a command", lint_is_command("chain", 5));
	CHECK("iseq is a command", lint_is_command("iseq", 4));
	CHECK("iflinkwait is in the pinned build",
	      lint_is_command("iflinkwait", 10));
	CHECK("nslookup is left out of Debian's build",
	      !lint_is_command("nslookup", 8));
	CHECK("prefix of a command is not", !lint_is_command("san", 3));
	CHECK("sanbot is not", !lint_is_command("sanbot", 6));
	CHECK("distance kitten sitting",
	      lint_distance("kitten", 6, "sitting", 7) == 3);
	CHECK("distance equal", lint_distance("abc", 3, "abc", 3) == 0);
}

static void test_settings(void)
{
	enum lint_kind S = LINT_SITE, H = LINT_HOST;

	CHECK("good site file", run(S, "#!ipxe\n# c\n\nset iscsi-port 3260\n"
				       "set menu-default local\n")
						.errors == 0);
	CHECK("port with a letter O",
	      one(S, "set iscsi-port 4126O\n", LINT_ERROR, "not a TCP port"));
	CHECK("port 0", one(S, "set iscsi-port 0\n", LINT_ERROR, "TCP port"));
	CHECK("port 65536",
	      one(S, "set iscsi-port 65536\n", LINT_ERROR, "TCP port"));
	CHECK("port from DHCP",
	      run(S, "set iscsi-port ${next-server}\n").errors == 0);
	CHECK("timeout 5s",
	      one(S, "set menu-timeout 5s\n", LINT_ERROR, "milliseconds"));
	CHECK("timeout 5 looks like seconds",
	      one(S, "set menu-timeout 5\n", LINT_WARNING, "5000"));
	CHECK("busy-retries 24",
	      run(S, "set busy-retries 24\n").errors == 0 &&
		      run(S, "set busy-retries 0\n").errors == 0);
	CHECK("busy-retries 012 is never reached",
	      one(S, "set busy-retries 012\n", LINT_ERROR, "count"));
	CHECK("busy-retries 1000",
	      one(S, "set busy-retries 1000\n", LINT_ERROR, "count"));
	CHECK("busy-retries 5s", one(S, "set busy-retries 5s\n", LINT_ERROR,
				     "count from 0 to 999"));
	CHECK("default windows", one(S, "set menu-default windows\n",
				     LINT_ERROR, "not a menu item"));
	CHECK("default of a per-host file may be a site item",
	      one(H, "#!ipxe\nset menu-default windows\n", LINT_WARNING,
		  "site's item"));
	CHECK("default names a custom item",
	      run(S, "set menu-default mt\nset item-1-label mt\n"
		     "set item-1-text Memtest\nset item-1-url http://x/m.efi\n")
			      .errors == 0);
	CHECK("item without run",
	      one(S, "set item-2-label mt\nset item-2-text Memtest\n",
		  LINT_ERROR, "item-2-url is not set"));
	CHECK("item text is optional",
	      run(S, "set item-3-label mt\nset item-3-url tftp://s/m\n")
			      .errors == 0);
	CHECK("item text without label",
	      one(S, "set item-4-text Memtest\nset item-4-url tftp://s/m\n",
		  LINT_ERROR, "item-4-label is not set"));
	CHECK("item URL without a scheme",
	      one(S,
		  "set item-1-label mt\nset item-1-text M\n"
		  "set item-1-url memtest.efi\n",
		  LINT_ERROR, "not a URL"));
	CHECK("item label shadows a built-in",
	      one(S,
		  "set item-1-label shell\nset item-1-text M\n"
		  "set item-1-url tftp://s/m\n",
		  LINT_ERROR, "built-in"));
	CHECK("IQN with a space",
	      one(S, "set iscsi-target iqn.2026-01.org.x:my disk\n", LINT_ERROR,
		  "not an iSCSI name"));
	CHECK("IQN without iqn.", one(S, "set iscsi-target org.x:disk\n",
				      LINT_ERROR, "iqn., eui. or naa."));
	CHECK("base-iqn as eui.", one(S, "set base-iqn eui.02004567a425678d\n",
				      LINT_ERROR, "must be an iqn."));
	CHECK("set line with =", one(S, "iscsi-server = 10.0.0.5\n", LINT_ERROR,
				     "set iscsi-server VALUE"));
	CHECK("set with = as the value", one(S, "set iscsi-server = 10.0.0.5\n",
					     LINT_ERROR, "neither an IPv4"));
	CHECK("a command in a settings file",
	      one(S, "chain http://x/y\n", LINT_ERROR, "only 'set NAME"));
	CHECK("bad address",
	      one(S, "set iscsi-server 10.0.0.256\n", LINT_ERROR, "IPv4"));
	CHECK("DNS name",
	      run(S, "set iscsi-server san.example.org\n").errors == 0);
	CHECK("typo gets did you mean",
	      one(S, "set iscsi-sever 10.0.0.1\n", LINT_ERROR,
		  "did you mean iscsi-server?"));
	CHECK("own name is a warning",
	      one(S, "set memtest-file mt.efi\n", LINT_WARNING,
		  "not a wupan setting"));
	CHECK("wupan- names are internal",
	      one(S, "set wupan-failed 1\n", LINT_ERROR, "wupan's own"));
	CHECK("quotes in a value",
	      one(H, "#!ipxe\nset site-name \"a\"\n", LINT_WARNING, "quotes"));
	CHECK("double space in a value", one(H, "#!ipxe\nset site-name a  b\n",
					     LINT_WARNING, "one space"));
	CHECK("short CHAP secret in a host file",
	      one(H, "#!ipxe\nset username u\nset password short\n",
		  LINT_WARNING, "12 to 16"));
	CHECK("CHAP secret in the site file",
	      one(S, "set username u\nset password twelve-chars\n",
		  LINT_WARNING, "over TFTP"));
	CHECK("CHAP secret in a host file is fine",
	      run(H, "#!ipxe\nset username u\nset password twelve-chars\n")
			      .warnings == 0);
	CHECK("host file without #!ipxe",
	      one(H, "set iscsi-lun 1\n", LINT_ERROR, "#!ipxe"));
	CHECK("LUN 10 is hex",
	      one(S, "set iscsi-lun 10\n", LINT_WARNING, "LUN 16"));
	CHECK("LUN junk",
	      one(S, "set iscsi-lun one\n", LINT_ERROR, "not a LUN"));
	CHECK("boot-url with a slash",
	      one(S, "set boot-url http://x/y/\n", LINT_WARNING, "'//'"));
	CHECK("install-url without scheme",
	      one(S, "set install-url x/y\n", LINT_ERROR, "not a URL"));
	CHECK("install-url scheme",
	      one(S, "set install-url smb://x/y\n", LINT_ERROR, "tftp://"));
	CHECK("default read before it is set",
	      one(S, "set install-url ${boot-url}/i.ipxe\n", LINT_WARNING,
		  "before wupan's defaults"));
	CHECK("default read after it is set",
	      run(S, "set boot-url http://a/b\nset install-url "
		     "${boot-url}/i.ipxe\n")
			      .warnings == 0);
	CHECK("set twice", one(S, "set iscsi-lun 1\nset iscsi-lun 2\n",
			       LINT_WARNING, "set again"));
	CHECK("|| in a value",
	      one(S, "set site-name a || reboot\n", LINT_ERROR, "command"));
	CHECK("unterminated reference",
	      one(S, "set site-name ${x\n", LINT_ERROR, "unterminated"));
	CHECK("#wupan: line", one(S, "#wupan:site\n", LINT_ERROR, "embed/"));
	struct found f =
		run(S, "\xef\xbb\xbfset iscsi-lun 1\r\nset x\xc3\xa9 1\n");

	CHECK("BOM, CRLF and UTF-8 all reported", f.errors == 3);
	CHECK("BOM alone", one(S, "\xef\xbb\xbfset iscsi-lun 1\n", LINT_ERROR,
			       "byte order mark"));
	f = run(S, "set iscsi-lun 1\nset iscsi-port 1\r\n");
	CHECK("CRLF names its line", f.errors == 1 && f.line == 2);
}

static void test_scripts(void)
{
	enum lint_kind K = LINT_SCRIPT;

	CHECK("good script",
	      run(K, "#!ipxe\n:a\nset x 1\necho ${x} ${netX/mac}\n"
		     "isset ${y} && echo ${y} || goto a\n")
			      .errors == 0);
	CHECK("unknown command", one(K, "#!ipxe\nsanbot x\n", LINT_ERROR,
				     "did you mean sanboot?"));
	CHECK("command after ||",
	      one(K, "#!ipxe\necho a || rebot\n", LINT_ERROR, "rebot"));
	CHECK("setting written as a command",
	      one(K, "#!ipxe\niscsi-server 1.2.3.4\n", LINT_ERROR,
		  "set NAME VALUE"));
	CHECK("goto a missing label",
	      one(K, "#!ipxe\ngoto nowhere\n", LINT_ERROR, "no such label"));
	CHECK("computed goto with no matching label",
	      one(K, "#!ipxe\nset c 1\ngoto item-${c}\n", LINT_ERROR,
		  "no label starts"));
	CHECK("computed goto",
	      run(K, "#!ipxe\nset c 1\ngoto item-${c}\n:item-1\n").errors == 0);
	CHECK("duplicate label",
	      one(K, "#!ipxe\n:a\n:a\n", LINT_ERROR, "defined twice"));
	CHECK("read, never set",
	      one(K, "#!ipxe\necho ${nobody}\n", LINT_WARNING, "never set"));
	CHECK("choose sets its variable",
	      run(K, "#!ipxe\nchoose --default a --timeout 1 pick\n"
		     "echo ${pick}\n")
			      .warnings == 0);
	CHECK("typed set", run(K, "#!ipxe\nset n:int32 0\ninc n\necho ${n:"
				  "hexraw}\n")
					   .warnings == 0);
	CHECK("quotes in a script",
	      one(K, "#!ipxe\necho DHCP's answer\n", LINT_WARNING, "quote"));
	CHECK("script without #!ipxe",
	      one(K, "echo a\n", LINT_ERROR, "#!ipxe"));
}

int main(void)
{
	test_iscsi_names();
	test_commands();
	test_settings();
	test_scripts();
	return unit_done();
}

/*
 * UEFI test payloads for the QEMU matrix (gnu-efi, built with the stub's
 * flags from mk/efi.mk).  One source, two programs:
 *
 *   marker.efi (default): the boot loader of a UEFI test disk.  Reads the
 *   first line of \wupan-tag.txt on the file system it was loaded from and
 *   prints "WUPAN-UEFI-BOOT-OK tag=<TAG>"; QEMU exits with status 33
 *   (isa-debug-exit, 0x10).
 *
 *   install.efi (-DWUPAN_INSTALL): run by iPXE after `sanhook`.  Looks for
 *   \wupan-tag.txt on every SimpleFileSystem and prints
 *   "WUPAN-UEFI-INSTALL-OK tag=<TAG>" (status 35, 0x11), or
 *   "WUPAN-UEFI-INSTALL-FAIL" (status 37, 0x12) if none has it.
 *
 * Both first print "wupan-payload: SecureBoot=N SetupMode=N" from the
 * firmware's global variables (N is "-" when a variable is missing), so a
 * test can tell that Secure Boot really was enforced when they ran.
 *
 * On failure marker.efi prints "WUPAN-UEFI-BOOT-FAIL" (status 37).  Lines go
 * to ConOut, which OVMF mirrors to the serial port; a spare line follows,
 * since the last characters before QEMU exits can be lost.
 *
 * Built for aarch64 (mk/arm64.mk) the markers read "WUPAN-AA64-..." and the
 * program ends QEMU by ResetSystem(EfiResetShutdown) (status 0, the virt
 * machine has no isa-debug-exit), after printing "wupan: exit code N".
 */
#include <efi.h>
#include <efilib.h>

#define TAG_MAX 64

#if defined(__aarch64__)
#define FW L"AA64"

/* Ends QEMU by powering the machine off; the code goes to the console. */
static void debug_exit(UINT8 code)
{
	Print(L"wupan: exit code %d\r\n\r\n", (int)code);
	uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0,
			  NULL);
	for (;;)
		__asm__ volatile("wfi");
}
#else
#define FW L"UEFI"
#define DEBUG_EXIT_PORT 0xf4

/* Ends QEMU (isa-debug-exit): exit status is (CODE << 1) | 1. */
static void debug_exit(UINT8 code)
{
	/* OVMF's serial console writes synchronously: once Print returns, the
	 * line is out, so exit at once.  (A Stall here once hung a guest under
	 * heavy load for minutes after the marker.) */
	Print(L"\r\n");
	__asm__ volatile("outb %0, %1"
			 :
			 : "a"(code), "Nd"((UINT16)DEBUG_EXIT_PORT));
	for (;;)
		__asm__ volatile("hlt");
}
#endif

/* Reads the first line of \wupan-tag.txt under ROOT into TAG as printable
 * ASCII; returns EFI_SUCCESS or why not. */
static EFI_STATUS read_tag(EFI_FILE_HANDLE root, CHAR8 *tag)
{
	EFI_FILE_HANDLE f;
	CHAR8 buf[TAG_MAX];
	UINTN len = sizeof(buf) - 1, i;
	EFI_STATUS st;

	st = uefi_call_wrapper(root->Open, 5, root, &f, L"\\wupan-tag.txt",
			       EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		return st;
	st = uefi_call_wrapper(f->Read, 3, f, &len, buf);
	uefi_call_wrapper(f->Close, 1, f);
	if (EFI_ERROR(st))
		return st;
	for (i = 0; i < len && buf[i] >= 0x20 && buf[i] <= 0x7e; i++)
		tag[i] = buf[i];
	tag[i] = '\0';
	return i ? EFI_SUCCESS : EFI_NOT_FOUND;
}

/* Opens the root directory of the file system on HANDLE. */
static EFI_STATUS open_root(EFI_HANDLE handle, EFI_FILE_HANDLE *root)
{
	EFI_FILE_IO_INTERFACE *fs;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->HandleProtocol, 3, handle,
			       &FileSystemProtocol, (void **)&fs);
	if (EFI_ERROR(st))
		return st;
	return uefi_call_wrapper(fs->OpenVolume, 2, fs, root);
}

/* Reads the tag from the file system on HANDLE. */
static EFI_STATUS tag_from(EFI_HANDLE handle, CHAR8 *tag)
{
	EFI_FILE_HANDLE root;
	EFI_STATUS st;

	st = open_root(handle, &root);
	if (EFI_ERROR(st))
		return st;
	st = read_tag(root, tag);
	uefi_call_wrapper(root->Close, 1, root);
	return st;
}

/* Reads the one-byte global variable NAME: 0 or 1, or -1 if it is missing
 * or not one byte. */
static int global_flag(CHAR16 *name)
{
	UINT8 val = 0;
	UINTN len = sizeof(val);
	EFI_STATUS st;

	st = uefi_call_wrapper(RT->GetVariable, 5, name, &EfiGlobalVariable,
			       NULL, &len, &val);
	if (EFI_ERROR(st) || len != 1 || val > 1)
		return -1;
	return val;
}

/* Prints whether Secure Boot is on, as the firmware reports it. */
static void print_secure_boot(void)
{
	int sb = global_flag(L"SecureBoot"), setup = global_flag(L"SetupMode");

	Print(L"wupan-payload: SecureBoot=%s SetupMode=%s\r\n",
	      sb < 0 ? L"-"
	      : sb   ? L"1"
		     : L"0",
	      setup < 0 ? L"-"
	      : setup   ? L"1"
			: L"0");
}

#ifdef WUPAN_INSTALL
/* Asks the firmware to bind drivers (partition, FAT) to every block device.
 * iPXE's sanhook already does this for its SAN disk (efi_block.c,
 * ConnectController recursive); repeating it is harmless. */
static void connect_block_devices(void)
{
	EFI_HANDLE *h;
	UINTN n, i;

	if (EFI_ERROR(LibLocateHandle(ByProtocol, &BlockIoProtocol, NULL, &n,
				      &h)))
		return;
	for (i = 0; i < n; i++)
		uefi_call_wrapper(BS->ConnectController, 4, h[i], NULL, NULL,
				  TRUE);
	FreePool(h);
}

/* Finds the tag on any file system and reports it. */
EFI_STATUS efi_main(EFI_HANDLE self, EFI_SYSTEM_TABLE *systab)
{
	CHAR8 tag[TAG_MAX];
	EFI_HANDLE *h;
	UINTN n = 0, i;

	InitializeLib(self, systab);
	print_secure_boot();
	connect_block_devices();
	if (!EFI_ERROR(LibLocateHandle(ByProtocol, &FileSystemProtocol, NULL,
				       &n, &h))) {
		for (i = 0; i < n; i++) {
			if (EFI_ERROR(tag_from(h[i], tag)))
				continue;
			Print(L"WUPAN-" FW L"-INSTALL-OK tag=%a\r\n", tag);
			Print(L"wupan: from %s\r\n",
			      DevicePathToStr(DevicePathFromHandle(h[i])));
			debug_exit(0x11);
		}
	}
	Print(L"WUPAN-" FW L"-INSTALL-FAIL (%d file systems, none with "
	      L"\\wupan-tag.txt)\r\n",
	      (int)n);
	debug_exit(0x12);
	return EFI_NOT_FOUND;
}
#else
/* Reports the tag of the file system this program was loaded from. */
EFI_STATUS efi_main(EFI_HANDLE self, EFI_SYSTEM_TABLE *systab)
{
	EFI_LOADED_IMAGE *li;
	CHAR8 tag[TAG_MAX];
	EFI_STATUS st;

	InitializeLib(self, systab);
	print_secure_boot();
	st = uefi_call_wrapper(BS->HandleProtocol, 3, self,
			       &LoadedImageProtocol, (void **)&li);
	if (!EFI_ERROR(st))
		st = tag_from(li->DeviceHandle, tag);
	if (EFI_ERROR(st)) {
		Print(L"WUPAN-" FW L"-BOOT-FAIL (\\wupan-tag.txt: %r)\r\n", st);
		debug_exit(0x12);
	}
	Print(L"WUPAN-" FW L"-BOOT-OK tag=%a\r\n", tag);
	debug_exit(0x10);
	return EFI_SUCCESS;
}
#endif

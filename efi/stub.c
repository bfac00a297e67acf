/*
 * wupan EFI stub: starts the iPXE binary carried in this image's ".ipxe"
 * section with the script in its ".script" section as iPXE's command line.
 * All parsing lives in pe.c and loadopts.c (tested on the host); this file
 * only talks to the firmware.
 */
#include <efi.h>
#include <efilib.h>

#include "loadopts.h"
#include "pe.h"

#define STUB_NAME "ipxe.efi"

/* Prints a failure on ConOut and returns STATUS, so the firmware moves on. */
static EFI_STATUS fail(EFI_STATUS status, const CHAR16 *what, int rc)
{
	Print(L"wupan-stub: %s (%d, %r)\r\n", what, rc, status);
	return status;
}

/* Starts the embedded iPXE with the embedded script; returns its status. */
EFI_STATUS efi_main(EFI_HANDLE self, EFI_SYSTEM_TABLE *systab)
{
	EFI_LOADED_IMAGE *li, *child_li;
	EFI_HANDLE child = NULL;
	EFI_DEVICE_PATH *path;
	const uint8_t *base, *ipxe, *script;
	size_t ipxe_len, script_len, units;
	uint16_t *opts;
	long need;
	EFI_STATUS st;
	int rc;

	InitializeLib(self, systab);
	st = uefi_call_wrapper(BS->HandleProtocol, 3, self,
			       &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st))
		return fail(st, L"no LoadedImage protocol", 0);
	base = li->ImageBase;
	rc = pe_find_data(base, li->ImageSize, ".ipxe", PE_MAPPED, &ipxe,
			  &ipxe_len);
	if (rc)
		return fail(EFI_LOAD_ERROR,
			    L"no .ipxe section (run scripts/efi-embed.sh)", rc);
	rc = pe_find_data(base, li->ImageSize, ".script", PE_MAPPED, &script,
			  &script_len);
	if (rc)
		return fail(EFI_LOAD_ERROR,
			    L"no .script section (run scripts/efi-embed.sh)",
			    rc);
	need = loadopts_units(STUB_NAME, script, script_len);
	if (need < 0)
		return fail(EFI_INVALID_PARAMETER,
			    L"script is not plain ASCII or too long",
			    (int)need);
	opts = AllocatePool((UINTN)need * sizeof(*opts));
	if (!opts)
		return fail(EFI_OUT_OF_RESOURCES, L"no memory for the script",
			    0);
	rc = loadopts_build(STUB_NAME, script, script_len, opts, (size_t)need,
			    &units);
	if (rc) {
		st = fail(EFI_INVALID_PARAMETER, L"cannot build LoadOptions",
			  rc);
		goto out_opts;
	}

	/* iPXE needs a device path: it opens its own device's path at start. */
	path = FileDevicePath(li->DeviceHandle, L"\\" STUB_NAME);
	st = uefi_call_wrapper(BS->LoadImage, 6, FALSE, self, path,
			       (void *)ipxe, (UINTN)ipxe_len, &child);
	if (path)
		FreePool(path);
	if (st == EFI_SECURITY_VIOLATION || st == EFI_ACCESS_DENIED) {
		/* UEFI 2.10 §7.4.1: on a security violation the image is
		 * loaded all the same and the caller must unload it. */
		if (st == EFI_SECURITY_VIOLATION && child)
			uefi_call_wrapper(BS->UnloadImage, 1, child);
		fail(st,
		     L"Secure Boot refused the embedded iPXE: build with "
		     L"make SIGN_KEY=... SIGN_CERT=... to sign it too",
		     0);
		goto out_opts;
	}
	if (EFI_ERROR(st)) {
		fail(st, L"LoadImage of the embedded iPXE failed", 0);
		goto out_opts;
	}
	st = uefi_call_wrapper(BS->HandleProtocol, 3, child,
			       &LoadedImageProtocol, (void **)&child_li);
	if (EFI_ERROR(st)) {
		fail(st, L"no LoadedImage on iPXE", 0);
		uefi_call_wrapper(BS->UnloadImage, 1, child);
		goto out_opts;
	}
	child_li->LoadOptions = opts;
	child_li->LoadOptionsSize = (UINT32)(units * sizeof(*opts));
	st = uefi_call_wrapper(BS->StartImage, 3, child, NULL, NULL);
	/* iPXE returned (e.g. "exit"): hand its status on to the firmware. */
out_opts:
	FreePool(opts);
	return st;
}

/*
 * BIOS test payloads for the QEMU matrix, GNU as 16-bit code linked to a flat
 * binary at 0:7C00.  One source, two programs:
 *
 *   mbr.bin (default): a 512-byte MBR.  Prints
 *     "WUPAN-BIOS-BOOT-OK tag=<TAG> drive=<DL in hex>"
 *   and ends QEMU with status 33 (isa-debug-exit, al = 0x10).
 *
 *   count.bin (--defsym COUNT=1): the same MBR that also counts its boots on
 *   the disk: it reads LBA 1 (INT 13h AH=42h), adds one to its first byte,
 *   writes it back (AH=43h) and prints
 *     "WUPAN-BIOS-BOOT-OK tag=<TAG> drive=<DL> boots=<count in hex>"
 *   (status 33), or ends with status 37 if the read or the write failed.
 *   Two boots from one writable disk print boots=01, then boots=02.
 *
 *   install.pxe (--defsym INSTALL=1): a PXE NBP that iPXE chains after
 *   `sanhook`.  Reads LBA 0 of drive 0x80 with INT 13h and prints
 *     "WUPAN-BIOS-INSTALL-OK tag=<TAG in that sector>"   (status 35, al 0x11)
 *   or "WUPAN-BIOS-INSTALL-FAIL"                          (status 37, al 0x12).
 *   iPXE's pxe_image probe takes any image of 1 byte to 0x98400 bytes that is
 *   claimed by no other type; this one starts with `cli` (0xFA), which is no
 *   MZ, ELF, script or zlib header, and holds no Multiboot magic.
 *
 * TAG is the 16-byte ASCII field at offset TAG_OFF (0x1A0) of the MBR,
 * NUL-padded, which tests/qemu/mkdisk.sh fills; printing stops at the first
 * NUL or non-printable byte.  The report (marker line and a blank spare line,
 * since the last character before QEMU exits can be lost) goes to COM1 (port
 * 0x3F8, written directly) and through INT 10h teletype.
 */
	.code16
	.set TAG_OFF, 0x1a0
	.set TAG_LEN, 16
	.set COM1, 0x3f8
	.set COM1_LSR, COM1 + 5
	.set DEBUG_EXIT, 0xf4
	.set SECTOR_BUF, 0x7e00		/* just past a 512-byte image */
	.ifndef INSTALL
	.set INSTALL, 0
	.endif
	.ifndef COUNT
	.set COUNT, 0
	.endif

	.text
	.globl _start
_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	.if INSTALL == 0
	/* The MBR owns the machine: its own stack below the code. */
	movw %ax, %ss
	movw $0x7c00, %sp
	.endif
	ljmp $0, $start
start:
	sti
	cld
	movb %dl, boot_drive

	.if INSTALL
	/* INT 13h AH=42h extended read of LBA 0 from drive 0x80, the drive
	 * iPXE's sanhook gives the first SAN disk. */
	movw $dap, %si
	movb $0x42, %ah
	movb $0x80, %dl
	int $0x13
	jc 1f
	testb %ah, %ah
	jnz 1f
	movb $0x11, status
1:
	.endif

	.if COUNT
	/* The boot count, in the first byte of LBA 1 (left zero by sfdisk):
	 * read, add one, write back; status 0x12 unless both worked. */
	movb $0x12, status
	movw $dap, %si
	movb $0x42, %ah
	movb boot_drive, %dl
	int $0x13
	jc 1f
	incb SECTOR_BUF
	movw $dap, %si
	movw $0x4300, %ax		/* AL 0: write without verify */
	movb boot_drive, %dl
	int $0x13
	jc 1f
	movb $0x10, status
1:
	.endif

	/* The report goes out whole through INT 10h, then whole on COM1, not
	 * interleaved per character: SeaBIOS with etc/sercon-port copies
	 * INT 10h to the same serial port, through a buffer it flushes
	 * lazily.  So give it time (and keyboard polls, which flush it) to
	 * empty that buffer, then write COM1 with interrupts off, so that
	 * the COM1 copy arrives whole and last. */
	movb $1, out_mode
	call report
	movw 0x46c, %bx			/* BIOS tick count, 18.2 Hz */
	addw $3, %bx
1:	movb $0x01, %ah
	int $0x16
	cmpw 0x46c, %bx
	jns 1b
	cli
	movb $0, out_mode
	call report
	movb status, %al

/* Waits for COM1 to drain and exits QEMU with AL. */
finish:
	movb %al, %bl
	movw $COM1_LSR, %dx
1:	inb %dx, %al
	testb $0x40, %al		/* transmitter empty */
	jz 1b
	movb %bl, %al
	outb %al, $DEBUG_EXIT
halt:
	cli
	hlt
	jmp halt

/* Prints the result line and the spare line. */
report:
	.if INSTALL
	cmpb $0x11, status
	jne 1f
	movw $msg_install_ok, %si
	call puts
	movw $SECTOR_BUF + TAG_OFF, %si
	call put_tag
	jmp crlf2
1:	movw $msg_install_fail, %si
	call puts
	.else
	movw $msg_boot_ok, %si
	call puts
	movw $tag, %si
	call put_tag
	movw $msg_drive, %si
	call puts
	movb boot_drive, %al
	call put_hex8
	.if COUNT
	movw $msg_boots, %si
	call puts
	movb SECTOR_BUF, %al
	call put_hex8
	.endif
	.endif
crlf2:
	call crlf
crlf:
	movw $msg_crlf, %si
	/* fall through */

/* Prints the NUL-terminated string at DS:SI. */
puts:
	lodsb
	testb %al, %al
	jz 1f
	call putc
	jmp puts
1:	ret

/* Prints at most TAG_LEN printable bytes at DS:SI. */
put_tag:
	movw $TAG_LEN, %cx
1:	lodsb
	cmpb $0x20, %al
	jb 2f
	cmpb $0x7e, %al
	ja 2f
	call putc
	loop 1b
2:	ret

/* Prints AL as two lower-case hex digits. */
put_hex8:
	pushw %ax
	shrb $4, %al
	call put_nibble
	popw %ax
put_nibble:
	andb $0x0f, %al
	addb $'0', %al
	cmpb $'9', %al
	jbe putc
	addb $('a' - '0' - 10), %al
	/* fall through */

/* Prints AL on COM1 (out_mode 0) or through INT 10h teletype (out_mode 1);
 * keeps all registers. */
putc:
	pusha
	cmpb $0, out_mode
	jne 2f
	movb %al, %bl
	movw $COM1_LSR, %dx
1:	inb %dx, %al
	testb $0x20, %al		/* holding register empty */
	jz 1b
	movw $COM1, %dx
	movb %bl, %al
	outb %al, %dx
	popa
	ret
2:	movb $0x0e, %ah
	movw $0x0007, %bx
	int $0x10
	popa
	ret

	.if INSTALL
msg_install_ok:		.asciz "WUPAN-BIOS-INSTALL-OK tag="
msg_install_fail:	.asciz "WUPAN-BIOS-INSTALL-FAIL"
	.else
msg_boot_ok:		.asciz "WUPAN-BIOS-BOOT-OK tag="
msg_drive:		.asciz " drive="
	.endif
	.if COUNT
msg_boots:		.asciz " boots="
	.endif
	.if INSTALL | COUNT
	/* The one sector read: LBA 0 (INSTALL) or 1 (COUNT). */
	.balign 4
dap:	.byte 16, 0		/* size, reserved */
	.word 1			/* sectors */
	.word SECTOR_BUF, 0	/* offset, segment */
	.quad COUNT		/* LBA */
	.endif
msg_crlf:		.asciz "\r\n"
boot_drive:		.byte 0
out_mode:		.byte 0
	.if INSTALL
status:			.byte 0x12	/* 0x11 once the read worked */
	.else
status:			.byte 0x10
	.endif

	.if INSTALL == 0
	/* The tag field; mkdisk.sh overwrites it. */
	.org TAG_OFF
tag:	.ascii "UNSET"
	.org TAG_OFF + TAG_LEN, 0
	/* 0x1B8: disk signature, 0x1BE: partition table, left to sfdisk. */
	.org 0x1fe, 0
	.byte 0x55, 0xaa
	.endif

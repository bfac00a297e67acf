#!/bin/sh
# Writes the dnsmasq snippets for a wupan TFTP root.
#   mkdnsmasq.sh full OUT    dnsmasq is the site's DHCP server
#   mkdnsmasq.sh proxy OUT   another DHCP server hands out addresses; dnsmasq
#                            only adds the boot information (proxy DHCP)
# Either way, legacy PXE ROMs (client-arch 0) get undionly.kpxe, x86_64 UEFI
# PXE (client-arch 7 and 9) gets ipxe.efi, arm64 UEFI PXE (client-arch 11)
# gets arm64/ipxe.efi, and any iPXE (it sends option 175 and user-class
# iPXE) gets boot.ipxe, so nothing is chainloaded twice.
set -eu
mode=$1 out=$2

common() {
	cat <<'EOF2'
# Tell iPXE apart from the firmware's own PXE: iPXE sends option 175 and the
# user class "iPXE".
dhcp-match=set:wupan-ipxe,175
dhcp-userclass=set:wupan-ipxe,iPXE
dhcp-match=set:wupan-efi64,option:client-arch,7
dhcp-match=set:wupan-efi64,option:client-arch,9
dhcp-match=set:wupan-arm64,option:client-arch,11
EOF2
}

case $mode in
full)
	{
		echo "# wupan: network boot for dnsmasq as the site DHCP server."
		echo "# Put it in /etc/dnsmasq.d/, set dhcp-range and the TFTP part below."
		common
		cat <<'EOF2'
dhcp-boot=tag:!wupan-ipxe,tag:!wupan-efi64,tag:!wupan-arm64,undionly.kpxe
dhcp-boot=tag:!wupan-ipxe,tag:wupan-efi64,ipxe.efi
dhcp-boot=tag:!wupan-ipxe,tag:wupan-arm64,arm64/ipxe.efi
dhcp-boot=tag:wupan-ipxe,boot.ipxe
# Hand out a hostname per client to name its initiator IQN, e.g.
#dhcp-host=52:54:00:12:34:56,pc01
# dnsmasq's own TFTP server with the wupan TFTP root (or run wupan-tftpd and
# leave these out):
#enable-tftp
#tftp-root=/srv/wupan/tftp
EOF2
	} >"$out"
	;;
proxy)
	{
		echo "# wupan: network boot next to a DHCP server that must stay untouched."
		echo "# dnsmasq answers only PXE clients, with boot information, no addresses."
		echo "# Set the proxy range to your subnet, e.g. 192.168.1.0, and 192.168.1.10"
		echo "# below to the address of the TFTP server (this machine)."
		echo "dhcp-range=192.168.1.0,proxy"
		common
		cat <<'EOF2'
# pxe-service names the file without the .0 that BIOS PXE appends:
# the TFTP root carries undionly.0 for that.
pxe-service=tag:!wupan-ipxe,x86PC,"wupan: network boot",undionly
pxe-service=tag:!wupan-ipxe,X86-64_EFI,"wupan: network boot",ipxe.efi
pxe-service=tag:!wupan-ipxe,BC_EFI,"wupan: network boot",ipxe.efi
pxe-service=tag:!wupan-ipxe,ARM64_EFI,"wupan: network boot",arm64/ipxe.efi
# iPXE takes a ProxyDHCP answer only when it names a boot file and a
# next-server (siaddr); dnsmasq leaves siaddr 0.0.0.0 in proxy answers unless
# told, and iPXE then reports "Nothing to boot".  Hence the server address.
dhcp-boot=tag:wupan-ipxe,boot.ipxe,,192.168.1.10
#enable-tftp
#tftp-root=/srv/wupan/tftp
EOF2
	} >"$out"
	;;
*)
	echo "usage: mkdnsmasq.sh full|proxy OUT" >&2
	exit 2
	;;
esac

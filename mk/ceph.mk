# Ceph RBD (issue 14): the rbd: LUNs of wupan-target against a throwaway
# single-node cluster of Debian's packages (tests/ceph/cluster.sh), and the
# benchmark against tgtd's RBD backing store (Debian's tgt-rbd).
TEST_SCRIPTS += tests/ceph/run.sh
TEST_DEB_PACKAGES += ceph-base ceph-mon ceph-osd ceph-common tgt-rbd libiscsi-bin libiscsi-dev
# The golden-image fleet on RBD: two gateways on one cluster of its own.
TEST_SCRIPTS += tests/ceph/fleet.sh
# A gateway killed (acknowledged writes kept, its clones taken over by the
# other one) and two commits at once: a cluster of its own.
TEST_SCRIPTS += tests/ceph/takeover.sh
# Diskless guests boot a room whose golden image is on RBD (needs make
# diskless-image, mk/linux.mk).
TEST_SCRIPTS += tests/ceph/guests.sh
# A room spread two and two over two RBD gateways from one seats file, and a
# seat's failover to its own clone (needs make test-payloads, mk/payload.mk).
TEST_SCRIPTS += tests/ceph/spread.sh
# The boot storm on RBD: a small trace from 3 clients through a room on
# RBD and straight through librbd (bench/target/storm_rbd.c).
TEST_SCRIPTS += tests/ceph/storm.sh

.PHONY: bench-rbd
bench-rbd: $(O)/bin/wupan-target
	$(Q)O=$(O) bash bench/target/rbd.sh

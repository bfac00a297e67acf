# src/common: small helpers shared by the servers and tools.
COMMON_SRCS := src/common/parse.c src/common/log.c src/common/privdrop.c
# The event loop and buffered streams both daemons' drivers run on.
EVLOOP_SRCS := src/common/evloop.c src/common/evstream.c src/common/netaddr.c

$(O)/asan/bin/test_parse: $(O)/asan/tests/unit/test_parse.o $(O)/asan/src/common/parse.o
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@
UNIT_TESTS += $(O)/asan/bin/test_parse

$(O)/asan/bin/test_evloop: $(O)/asan/tests/unit/test_evloop.o $(patsubst %.c,$(O)/asan/%.o,$(EVLOOP_SRCS))
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@
UNIT_TESTS += $(O)/asan/bin/test_evloop

$(O)/asan/bin/test_netaddr: $(O)/asan/tests/unit/test_netaddr.o $(O)/asan/src/common/netaddr.o
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@
UNIT_TESTS += $(O)/asan/bin/test_netaddr

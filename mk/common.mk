# src/common: small helpers shared by the servers and tools.
COMMON_SRCS := src/common/parse.c src/common/log.c src/common/privdrop.c

$(O)/asan/bin/test_parse: $(O)/asan/tests/unit/test_parse.o $(O)/asan/src/common/parse.o
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@
UNIT_TESTS += $(O)/asan/bin/test_parse

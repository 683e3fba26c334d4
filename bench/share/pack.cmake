# bench-pack: dnsreel pack/unpack of a 5-million-event capture beside tar cf/xf of the same
# bytes, and verify/replay of the pack beside the directory. Not a test:
# `cmake --build B --target bench-pack`.
if(TARGET dnsreel-pack AND TARGET dnsreel-synth)
  add_custom_target(bench-pack
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pack_bench.sh $<TARGET_FILE_DIR:dnsreel-pack>
            ${CMAKE_BINARY_DIR}/bench-pack
    DEPENDS dnsreel-pack dnsreel-unpack dnsreel-verify dnsreel-replay dnsreel-synth
    USES_TERMINAL VERBATIM)
endif()

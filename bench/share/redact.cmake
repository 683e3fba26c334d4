# bench-redact: dnsreel redact's events/s and memory on synthetic captures of 1 and 5 million
# events, beside cat of the same bytes. Not a test: `cmake --build B --target bench-redact`.
if(TARGET dnsreel-redact)
  add_custom_target(bench-redact
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_redact.sh $<TARGET_FILE:dnsreel-redact>
            $<TARGET_FILE:dnsreel-synth> ${CMAKE_BINARY_DIR}/bench-redact
    DEPENDS dnsreel-redact dnsreel-synth
    USES_TERMINAL VERBATIM)
endif()

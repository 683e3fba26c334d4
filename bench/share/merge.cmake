# bench-merge: dnsreel merge of two synthetic node captures against cat of the same bytes (the
# I/O limit). Not a test: run `cmake --build B --target bench-merge`.
add_custom_target(bench-merge
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_merge.sh $<TARGET_FILE:dnsreel-merge>
          $<TARGET_FILE:dnsreel-synth> ${CMAKE_BINARY_DIR}/bench-merge
  DEPENDS dnsreel-merge dnsreel-synth
  USES_TERMINAL VERBATIM)

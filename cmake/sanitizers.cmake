# Sanitizer and fuzzing builds of the project's own targets (zeva_warnings applies them).
# Debian's gRPC, protobuf, libpq and Abseil, and the generated protobuf code, stay
# uninstrumented: ASan still sees our reads and writes into their memory, and TSan's false
# positives from them are suppressed in tests/sanitizers/tsan.supp.
#   ZEVA_SANITIZE=address,undefined   scripts/sanitize.sh asan (ctest but the [bench] group)
#   ZEVA_SANITIZE=thread              scripts/sanitize.sh tsan (the concurrent unit tests)
#   ZEVA_FUZZ=ON (clang)              scripts/fuzz.sh: only the parsers and tests/fuzz
set(ZEVA_SANITIZE "" CACHE STRING
    "Sanitizers for the project's own targets: address,undefined or thread (empty: none)")
option(ZEVA_FUZZ "Build only the libFuzzer targets under tests/fuzz (needs clang)" OFF)

set(ZEVA_SANITIZE_COMPILE_OPTIONS "")
set(ZEVA_SANITIZE_LINK_OPTIONS "")
if(ZEVA_SANITIZE)
  string(REPLACE "," ";" zeva_sanitizers "${ZEVA_SANITIZE}")
  foreach(sanitizer IN LISTS zeva_sanitizers)
    if(NOT sanitizer MATCHES "^(address|undefined|thread)$")
      message(FATAL_ERROR "ZEVA_SANITIZE: unknown sanitizer '${sanitizer}'")
    endif()
  endforeach()
  if("thread" IN_LIST zeva_sanitizers AND "address" IN_LIST zeva_sanitizers)
    message(FATAL_ERROR "ZEVA_SANITIZE: thread and address cannot be combined")
  endif()
  # Frame pointers for usable stacks; no recovery, so that undefined behaviour fails the test
  # that ran into it instead of printing a line nobody reads.
  # -O1, as the sanitizers' own documentation advises: instrumented code at -O2 compiles about
  # 40% slower for no finding more (services/credit_transfer_service.cc: 8.1 s at -O2 -g,
  # 4.9 s at -O1 -g1, user time under ASan+UBSan).
  list(APPEND ZEVA_SANITIZE_COMPILE_OPTIONS -fsanitize=${ZEVA_SANITIZE} -fno-omit-frame-pointer
       -fno-sanitize-recover=all -O1)
  list(APPEND ZEVA_SANITIZE_LINK_OPTIONS -fsanitize=${ZEVA_SANITIZE})
endif()
if(ZEVA_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ZEVA_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Coverage for the libraries; the fuzzers themselves link -fsanitize=fuzzer (tests/fuzz).
  list(APPEND ZEVA_SANITIZE_COMPILE_OPTIONS -fsanitize=fuzzer-no-link)
endif()

function(zeva_sanitize target)
  target_compile_options(${target} PRIVATE ${ZEVA_SANITIZE_COMPILE_OPTIONS})
  # PUBLIC: a static library passes the runtime on to every executable that links it.
  target_link_options(${target} PUBLIC ${ZEVA_SANITIZE_LINK_OPTIONS})
endfunction()

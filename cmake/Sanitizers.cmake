# Sanitizer and fuzzing builds. Included by the top-level CMakeLists.txt before any target exists,
# so the flags set here reach every library, tool and test. Not a place for ordinary warnings.
#
#   LOGITSCOPE_SANITIZE  ""                  (default) no sanitizer
#                        "address;undefined" AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer)
#                        "thread"            ThreadSanitizer
#   LOGITSCOPE_FUZZ      ON: build the libFuzzer targets in fuzz/ (needs clang: CMakePresets "fuzz").
set(LOGITSCOPE_SANITIZE "" CACHE STRING "Sanitizers for every target: \"\", \"address;undefined\" or \"thread\"")
option(LOGITSCOPE_FUZZ "Build the libFuzzer targets in fuzz/ (clang only)" OFF)

set(_logitscope_san "${LOGITSCOPE_SANITIZE}")
if(LOGITSCOPE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "LOGITSCOPE_FUZZ=ON needs clang (libFuzzer): use the \"fuzz\" preset "
                        "or -DCMAKE_CXX_COMPILER=clang++-14 (apt-get install clang-14 libclang-rt-14-dev)")
  endif()
  if(NOT _logitscope_san)
    set(_logitscope_san "address;undefined")
  endif()
endif()

if(_logitscope_san)
  if("thread" IN_LIST _logitscope_san AND "address" IN_LIST _logitscope_san)
    message(FATAL_ERROR "ThreadSanitizer and AddressSanitizer cannot be combined")
  endif()
  list(JOIN _logitscope_san "," _logitscope_san_list)
  set(_logitscope_san_flags -fsanitize=${_logitscope_san_list} -fno-omit-frame-pointer -g)
  if("undefined" IN_LIST _logitscope_san)
    # Every UB report is an error: a test that triggers one fails instead of printing and passing.
    list(APPEND _logitscope_san_flags -fno-sanitize-recover=undefined)
  endif()
  if(LOGITSCOPE_FUZZ)
    # Coverage instrumentation for everything; only the fuzz targets link libFuzzer's main().
    list(APPEND _logitscope_san_flags -fsanitize=fuzzer-no-link)
  endif()
  add_compile_options(${_logitscope_san_flags})
  add_link_options(-fsanitize=${_logitscope_san_list})
  message(STATUS "Logitscope: sanitizers ${_logitscope_san_list}")
endif()

# Run-time options every test gets under a sanitizer (tests/CMakeLists.txt and tests/fuzz/ add them as
# ENVIRONMENT_MODIFICATION). Debian's Qt, glib and OpenBLAS are not instrumented: TSan sees neither
# their futex-based QMutex nor their atomics, so it cannot see a queued signal's arguments handed from
# one thread to the other. ignore_noninstrumented_modules=1 drops the memory accesses those libraries
# make through TSan's interceptors (malloc/free/memcpy/write called from Qt) while keeping the pthread
# synchronisation they do; tools/tsan.supp names the few reports left, each with its reason.
# history_size=7 (the most) lets TSan restore the earlier access's stack, which a suppression needs.
# die_after_fork=0: the hub tests start a fake Hub server with QProcess, whose forked child only exec()s.
# Prepended, so options the caller puts in TSAN_OPTIONS come later and win
# (e.g. TSAN_OPTIONS=halt_on_error=0 to see every report).
set(LOGITSCOPE_SANITIZER_TEST_ENV "")
if("thread" IN_LIST _logitscope_san)
  set(LOGITSCOPE_SANITIZER_TEST_ENV
      "TSAN_OPTIONS=string_prepend:suppressions=${PROJECT_SOURCE_DIR}/tools/tsan.supp:ignore_noninstrumented_modules=1:history_size=7:die_after_fork=0:halt_on_error=1:second_deadlock_stack=1:")
endif()

if(LOGITSCOPE_FUZZ)
  # fuzz/ is read at the end of the top-level file, once logitscope_engine exists (a deferred call
  # cannot add_subdirectory, so it is included; its targets build in <build>/ itself).
  cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL include ${PROJECT_SOURCE_DIR}/fuzz/CMakeLists.txt)
endif()

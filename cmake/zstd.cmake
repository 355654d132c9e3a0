# zstd as two static libraries from build/deps/zstd (scripts/fetch-zstd.sh):
# ZSTD_MULTITHREAD is left undefined: zstd tests it with #ifdef, so =0 would turn it on.
# zstd_decompress (always linked) and zstd_compress (levels 1-3 only).
# The same flags natively and in WebAssembly, so both produce the same bytes.
set(ZSTD_LIB ${CMAKE_CURRENT_SOURCE_DIR}/build/deps/zstd/lib)
set(ZSTD_FLAGS
  ZSTD_LEGACY_SUPPORT=0 ZSTD_STRIP_ERROR_STRINGS HUF_FORCE_DECOMPRESS_X1
  ZSTD_FORCE_DECOMPRESS_SEQUENCES_SHORT ZSTD_NO_INLINE ZSTD_NO_UNUSED_FUNCTIONS
  DYNAMIC_BMI2=0 ZSTD_DISABLE_ASM ZSTD_TRACE=0
  ZSTD_EXCLUDE_GREEDY_BLOCK_COMPRESSOR ZSTD_EXCLUDE_LAZY_BLOCK_COMPRESSOR
  ZSTD_EXCLUDE_LAZY2_BLOCK_COMPRESSOR ZSTD_EXCLUDE_BTLAZY2_BLOCK_COMPRESSOR
  ZSTD_EXCLUDE_BTOPT_BLOCK_COMPRESSOR ZSTD_EXCLUDE_BTULTRA_BLOCK_COMPRESSOR)

add_library(zstd_decompress STATIC
  ${ZSTD_LIB}/common/entropy_common.c
  ${ZSTD_LIB}/common/error_private.c
  ${ZSTD_LIB}/common/fse_decompress.c
  ${ZSTD_LIB}/common/xxhash.c
  ${ZSTD_LIB}/common/zstd_common.c
  ${ZSTD_LIB}/decompress/huf_decompress.c
  ${ZSTD_LIB}/decompress/zstd_ddict.c
  ${ZSTD_LIB}/decompress/zstd_decompress.c
  ${ZSTD_LIB}/decompress/zstd_decompress_block.c)
target_include_directories(zstd_decompress SYSTEM PUBLIC ${ZSTD_LIB})
target_compile_definitions(zstd_decompress PUBLIC ${ZSTD_FLAGS})

add_library(zstd_compress STATIC
  ${ZSTD_LIB}/compress/fse_compress.c
  ${ZSTD_LIB}/compress/hist.c
  ${ZSTD_LIB}/compress/huf_compress.c
  ${ZSTD_LIB}/compress/zstd_compress.c
  ${ZSTD_LIB}/compress/zstd_compress_literals.c
  ${ZSTD_LIB}/compress/zstd_compress_sequences.c
  ${ZSTD_LIB}/compress/zstd_compress_superblock.c
  ${ZSTD_LIB}/compress/zstd_double_fast.c
  ${ZSTD_LIB}/compress/zstd_fast.c
  ${ZSTD_LIB}/compress/zstd_lazy.c
  ${ZSTD_LIB}/compress/zstd_ldm.c
  ${ZSTD_LIB}/compress/zstd_opt.c
  ${ZSTD_LIB}/compress/zstd_preSplit.c)
target_link_libraries(zstd_compress PUBLIC zstd_decompress)

# zstd is C and its own code: our warnings and the sanitizer's fuzzer
# instrumentation stay, but -Wpedantic noise from its sources does not matter.
foreach(lib zstd_decompress zstd_compress)
  target_compile_options(${lib} PRIVATE -w)
  set_target_properties(${lib} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endforeach()

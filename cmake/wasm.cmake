# WebAssembly targets (Emscripten). Included from CMakeLists.txt when EMSCRIPTEN.
#   mycelium_core_wasm  -> mycelium-core.mjs + mycelium-core.wasm (Embind)
#   mycelium_zstd       -> mycelium-zstd.wasm, the compressor as a second,
#                          standalone module (no JS glue, no imports to speak of)
option(MYC_WASM_DEBUG "Assertions and names in the WebAssembly build" OFF)
set(MYC_WASM_MALLOC emmalloc CACHE STRING "Emscripten allocator: emmalloc (small) or dlmalloc (faster with many small allocations)")

# memory.copy/fill instead of byte loops: every engine since 2021 (Safari 15).
set(MYC_WASM_FEATURES -mbulk-memory CACHE STRING "WebAssembly features beyond the MVP")
# -O2, not -Oz: merge_10k 30 % faster in Node (4.9-5.0 ms vs 6.5-7.1 in one
# session's runs) for +3.3 KB gzipped of core (122.6 vs 119.3 KB); wasm-opt
# still runs -Oz over the result (optimize-wasm.sh).
set(MYC_WASM_OPT -O2 CACHE STRING "Optimization level of the WebAssembly build (-Oz: smallest)")
set(MYC_WASM_SIZE_FLAGS ${MYC_WASM_OPT} -flto ${MYC_WASM_FEATURES})
if(MYC_WASM_DEBUG)
  set(MYC_WASM_SIZE_FLAGS -O1 -g)
endif()
set(MYC_WASM_CXX_FLAGS ${MYC_WASM_SIZE_FLAGS})
target_compile_options(mycelium_core PRIVATE ${MYC_WASM_CXX_FLAGS})
# The core links no compressor: frame() asks the host, which runs the
# compressor module (mycelium_zstd below) when the page loaded it.
target_compile_definitions(mycelium_core PRIVATE MYC_HOST_COMPRESSOR)
target_compile_options(zstd_decompress PRIVATE ${MYC_WASM_SIZE_FLAGS})
target_compile_options(zstd_compress PRIVATE ${MYC_WASM_SIZE_FLAGS})

set(MYC_WASM_INITIAL_MEMORY 1MB CACHE STRING "Initial WebAssembly memory (Emscripten's INITIAL_MEMORY)")
set(MYC_WASM_LINK
  ${MYC_WASM_SIZE_FLAGS}
  -fno-exceptions
  -sMALLOC=${MYC_WASM_MALLOC}
  -sFILESYSTEM=0
  -sWASM_BIGINT
  -sALLOW_MEMORY_GROWTH=1
  # Memory never shrinks: grow by 5% over what is asked, not Emscripten's
  # 20%, so a page keeps little more than its peak (a grow is cheap: the
  # engines reserve the address space).
  -sMEMORY_GROWTH_GEOMETRIC_STEP=0.05
  # Start small (Emscripten 3.1.6 defaults to 16 MB with a 5 MB stack): a
  # page pays for what its stores hold, and growth measures the stores.
  -sINITIAL_MEMORY=${MYC_WASM_INITIAL_MEMORY}
  -sTOTAL_STACK=256KB
  -sMAXIMUM_MEMORY=2GB)

add_executable(mycelium_core_wasm bindings/mycelium_wasm.cc)
target_compile_options(mycelium_core_wasm PRIVATE ${MYC_WASM_CXX_FLAGS})
target_link_libraries(mycelium_core_wasm PRIVATE mycelium_core)
set_target_properties(mycelium_core_wasm PROPERTIES OUTPUT_NAME mycelium-core SUFFIX .mjs)
target_link_options(mycelium_core_wasm PRIVATE
  ${MYC_WASM_LINK}
  --bind
  -sMODULARIZE=1
  -sEXPORT_ES6=1
  -sEXPORT_NAME=createCore
  -sENVIRONMENT=web,worker
  # Embind without new Function: runs under a CSP without 'unsafe-eval'.
  -sDYNAMIC_EXECUTION=0
  -sINCOMING_MODULE_JS_API=[instantiateWasm]
  -sSUPPORT_LONGJMP=0
  -sTEXTDECODER=2
  # The browsers the package supports: the glue drops code for older ones.
  -sMIN_CHROME_VERSION=85
  -sMIN_EDGE_VERSION=85
  -sMIN_FIREFOX_VERSION=79
  -sMIN_SAFARI_VERSION=150000)
if(MYC_WASM_DEBUG)
  target_link_options(mycelium_core_wasm PRIVATE -sASSERTIONS=2)
elseif(MYC_CLOSURE)
  target_link_options(mycelium_core_wasm PRIVATE --closure 1)
endif()

add_executable(mycelium_zstd bindings/zstd_module.cc cpp/stream_compressor.cc)
set_target_properties(mycelium_zstd PROPERTIES OUTPUT_NAME mycelium-zstd SUFFIX .wasm)
target_include_directories(mycelium_zstd PRIVATE cpp)
target_link_libraries(mycelium_zstd PRIVATE zstd_compress)
target_compile_options(mycelium_zstd PRIVATE ${MYC_WASM_CXX_FLAGS})
target_link_options(mycelium_zstd PRIVATE
  ${MYC_WASM_LINK}
  -sSTANDALONE_WASM=1
  --no-entry
  -sEXPORTED_FUNCTIONS=[_myc_begin,_myc_input,_myc_feed,_myc_end,_myc_output,_myc_release])

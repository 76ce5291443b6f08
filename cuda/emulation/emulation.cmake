# CPU-emulation build of the CUDA kernels (tests only): every cuda/*.cu (and the deliberately
# broken kernels under test/cuda/) compiled as plain C++ against cuda/emulation/simt.h, in a
# second small addon `worldkit_emu.node` next to worldkit.node. It also links the CPU kernels, so
# the jest op table (test/cuda_emulation.test.ts) compares the two inside one process.
# Included from CMakeLists.txt when WORLDKIT_EMULATION is on (default; env WORLDKIT_EMULATION=0
# turns it off). No nvcc needed.
file(GLOB WK_EMU_CU CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/cuda/*.cu ${CMAKE_SOURCE_DIR}/test/cuda/*.cu)
set(WK_EMU_WRAPPERS)
foreach(cu ${WK_EMU_CU})
  get_filename_component(name ${cu} NAME_WE)
  get_filename_component(dir ${cu} DIRECTORY)
  get_filename_component(dirname ${dir} NAME)
  set(wrapper ${CMAKE_BINARY_DIR}/wk_emu/${dirname}_${name}.cpp)
  file(CONFIGURE OUTPUT ${wrapper} CONTENT "// generated: ${cu} compiled as C++ against the SIMT emulation\n#include \"${cu}\"\n")
  list(APPEND WK_EMU_WRAPPERS ${wrapper})
endforeach()

# emu_binding.cc holds Init; emu_<family>.cc files add their ops through emu_registry.h.
file(GLOB WK_EMU_FAMILIES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/cuda/emulation/emu_*.cc)
add_library(worldkit_emu SHARED ${WK_EMU_WRAPPERS} ${WK_EMU_FAMILIES} ${CMAKE_JS_SRC})
set_target_properties(worldkit_emu PROPERTIES PREFIX "" SUFFIX ".node")
target_include_directories(worldkit_emu PRIVATE ${CMAKE_JS_INC} ${NODE_ADDON_API_DIR} ${CMAKE_SOURCE_DIR}/binding
                                                ${CMAKE_SOURCE_DIR}/cuda)
target_compile_definitions(worldkit_emu PRIVATE NAPI_VERSION=8 NAPI_CPP_EXCEPTIONS NODE_ADDON_API_DISABLE_DEPRECATED
                                                WK_CUDA_EMULATION=1)
# -O1: the emulated kernels are small test workloads; keep the compile cheap. No fast-math and no
# FMA contraction, so results compare with the CPU kernels at 1e-5.
target_compile_options(worldkit_emu PRIVATE -O1 -Wall -Wno-unused-parameter -Wno-unknown-pragmas -fexceptions
                                            -ffp-contract=off)
if(WORLDKIT_EMULATION_SANITIZE)
  # e.g. -DWORLDKIT_EMULATION_SANITIZE=address (fiber stacks are switched with ucontext, which
  # ASan follows). For ThreadSanitizer use the standalone program instead (simt.h carries the
  # fiber/barrier annotations; a TSan addon inside node needs the runtime preloaded):
  # test/cuda/tsan_emu.cc, built and run by test/cuda_tsan.test.ts.
  target_compile_options(worldkit_emu PRIVATE -fsanitize=${WORLDKIT_EMULATION_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(worldkit_emu PRIVATE -fsanitize=${WORLDKIT_EMULATION_SANITIZE})
endif()
target_link_libraries(worldkit_emu PRIVATE worldkit_cpu Threads::Threads ${CMAKE_JS_LIB})

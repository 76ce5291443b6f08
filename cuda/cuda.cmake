# CUDA kernels (cuda/*.cu) linked into the addon. Included from CMakeLists.txt after the
# `worldkit` target exists, when nvcc is found and WORLDKIT_CUDA is not 0; WK_CUDA_SOURCES holds
# the .cu files.
#
#   WORLDKIT_CUDA_ARCHS   architectures: a list, or `all` (75;80;86;89;90; CUDA 13 has no target
#                         below 75). Default (CMakeLists.txt): the present GPU's architecture, or
#                         all of them when no GPU answers nvidia-smi. Each listed arch gets SASS;
#                         the newest one also gets PTX, so later GPUs can JIT it.
#   static cudart         the addon loads on machines with no CUDA libraries at all; the driver
#                         (libcuda) is opened at run time by cudart, and its absence is reported
#                         by cudaStatus(), never a load failure.
#   ptxas report          -Xptxas -v output of every .cu goes to <build>/cuda-report/<name>.txt
#                         (cuda/ptxas_report.sh, the compiler launcher); `npm run cuda:report`
#                         prints registers, shared memory and spills per kernel from it.
#   no spills             -warn-spills,-warn-lmem-usage plus --Werror all-warnings, and the
#                         launcher fails the compile on any ptxas warning as a second net.
if(NOT WK_CUDA_ARCHS_ALL)
  set(WK_CUDA_ARCHS_ALL "75;80;86;89;90")
endif()
if(NOT WK_CUDA_ARCHS_DEFAULT)
  set(WK_CUDA_ARCHS_DEFAULT "${WK_CUDA_ARCHS_ALL}")
endif()
set(WK_CUDA_ARCHS "${WK_CUDA_ARCHS_DEFAULT}")
if(DEFINED ENV{WORLDKIT_CUDA_ARCHS} AND NOT "$ENV{WORLDKIT_CUDA_ARCHS}" STREQUAL "")
  set(WK_CUDA_ARCHS "$ENV{WORLDKIT_CUDA_ARCHS}")
  if(WK_CUDA_ARCHS STREQUAL "all")
    set(WK_CUDA_ARCHS "${WK_CUDA_ARCHS_ALL}")
  endif()
endif()
string(REPLACE "," ";" WK_CUDA_ARCHS "${WK_CUDA_ARCHS}")
list(SORT WK_CUDA_ARCHS COMPARE NATURAL)
list(LENGTH WK_CUDA_ARCHS WK_CUDA_NARCH)
set(WK_CUDA_ARCH_PROPERTY)
set(i 0)
foreach(arch ${WK_CUDA_ARCHS})
  math(EXPR i "${i} + 1")
  if(i EQUAL WK_CUDA_NARCH)
    list(APPEND WK_CUDA_ARCH_PROPERTY "${arch}")          # SASS + PTX
  else()
    list(APPEND WK_CUDA_ARCH_PROPERTY "${arch}-real")     # SASS only
  endif()
endforeach()
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES ${WK_CUDA_ARCH_PROPERTY})
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
message(STATUS "worldkit: CUDA ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${WK_CUDA_ARCH_PROPERTY}")

add_library(worldkit_cuda STATIC ${WK_CUDA_SOURCES})
set_target_properties(worldkit_cuda PROPERTIES
  CUDA_ARCHITECTURES "${WK_CUDA_ARCH_PROPERTY}"
  CUDA_RUNTIME_LIBRARY Static
  CUDA_STANDARD 17
  CUDA_STANDARD_REQUIRED ON
  POSITION_INDEPENDENT_CODE ON
  CUDA_COMPILER_LAUNCHER "sh;${CMAKE_SOURCE_DIR}/cuda/ptxas_report.sh;${CMAKE_BINARY_DIR}/cuda-report")
target_include_directories(worldkit_cuda PRIVATE ${CMAKE_SOURCE_DIR}/cuda ${CMAKE_SOURCE_DIR}/cpp)
target_compile_options(worldkit_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-O3 -Xptxas=-v,-warn-spills,-warn-lmem-usage --Werror=all-warnings -Xcompiler=-fPIC>)

target_link_libraries(${PROJECT_NAME} PRIVATE worldkit_cuda CUDA::cudart_static)
target_include_directories(${PROJECT_NAME} PRIVATE ${CMAKE_SOURCE_DIR}/cuda)
target_compile_definitions(${PROJECT_NAME} PRIVATE WK_WITH_CUDA=1)
set_target_properties(${PROJECT_NAME} PROPERTIES CUDA_RUNTIME_LIBRARY Static)

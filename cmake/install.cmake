# `cmake --install`: the libraries, the public headers, the CLI, a CMake package
# (find_package(portaquant) -> portaquant::portaquant, portaquant::host, portaquant::runtime)
# and a pkg-config file (portaquant.pc).
include(CMakePackageConfigHelpers)

# portaquant::portaquant: the whole library (the runtime with the front end), C++20.
add_library(portaquant_library INTERFACE)
target_link_libraries(portaquant_library INTERFACE portaquant_runtime portaquant_host)
set_target_properties(portaquant_library PROPERTIES EXPORT_NAME portaquant)
set_target_properties(portaquant_host PROPERTIES EXPORT_NAME host)
set_target_properties(portaquant_runtime PROPERTIES EXPORT_NAME runtime)
add_library(portaquant::portaquant ALIAS portaquant_library)
add_library(portaquant::host ALIAS portaquant_host)
add_library(portaquant::runtime ALIAS portaquant_runtime)

install(TARGETS portaquant_host portaquant_runtime portaquant_library EXPORT portaquantTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/portaquant)

# Public headers keep their paths under include/portaquant (#include "host/nn/pretrained.h").
# The backends' own headers (runtime/opencl, runtime/vulkan) and the ops' internals
# (runtime/ops) are not part of the API and are not installed.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/host DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/portaquant FILES_MATCHING PATTERN "*.h")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/portaquant FILES_MATCHING PATTERN "*.h"
        PATTERN "opencl" EXCLUDE PATTERN "vulkan" EXCLUDE PATTERN "ops" EXCLUDE)

set(PORTAQUANT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/portaquant)
install(EXPORT portaquantTargets NAMESPACE portaquant:: DESTINATION ${PORTAQUANT_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/portaquantConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/portaquantConfig.cmake INSTALL_DESTINATION ${PORTAQUANT_CMAKE_DIR})
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/portaquantConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/portaquantConfig.cmake ${PROJECT_BINARY_DIR}/portaquantConfigVersion.cmake
        DESTINATION ${PORTAQUANT_CMAKE_DIR})

# pkg-config: static libraries, so their dependencies are listed for every link.
set(PORTAQUANT_PC_REQUIRES "nlohmann_json libpcre2-8 libutf8proc")
set(PORTAQUANT_PC_CFLAGS "")
if(PORTAQUANT_OPENCL)
  string(APPEND PORTAQUANT_PC_REQUIRES " OpenCL clblast")
  string(APPEND PORTAQUANT_PC_CFLAGS " -DPORTAQUANT_HAVE_OPENCL=1 -DCL_TARGET_OPENCL_VERSION=120")
endif()
if(PORTAQUANT_VULKAN)
  string(APPEND PORTAQUANT_PC_REQUIRES " vulkan")
  string(APPEND PORTAQUANT_PC_CFLAGS " -DPORTAQUANT_HAVE_VULKAN=1")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/portaquant.pc.in ${PROJECT_BINARY_DIR}/portaquant.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/portaquant.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})


# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/core/conditions.cc" "src/core/CMakeFiles/rota_core.dir/conditions.cc.o" "gcc" "src/core/CMakeFiles/rota_core.dir/conditions.cc.o.d"
  "/work/main/src/core/decide.cc" "src/core/CMakeFiles/rota_core.dir/decide.cc.o" "gcc" "src/core/CMakeFiles/rota_core.dir/decide.cc.o.d"
  "/work/main/src/core/eligibility.cc" "src/core/CMakeFiles/rota_core.dir/eligibility.cc.o" "gcc" "src/core/CMakeFiles/rota_core.dir/eligibility.cc.o.d"
  "/work/main/src/core/model.cc" "src/core/CMakeFiles/rota_core.dir/model.cc.o" "gcc" "src/core/CMakeFiles/rota_core.dir/model.cc.o.d"
  "/work/main/src/core/rotation.cc" "src/core/CMakeFiles/rota_core.dir/rotation.cc.o" "gcc" "src/core/CMakeFiles/rota_core.dir/rotation.cc.o.d"
  "/work/main/src/core/state.cc" "src/core/CMakeFiles/rota_core.dir/state.cc.o" "gcc" "src/core/CMakeFiles/rota_core.dir/state.cc.o.d"
  "/work/main/src/core/status.cc" "src/core/CMakeFiles/rota_core.dir/status.cc.o" "gcc" "src/core/CMakeFiles/rota_core.dir/status.cc.o.d"
  "/work/main/src/core/text.cc" "src/core/CMakeFiles/rota_core.dir/text.cc.o" "gcc" "src/core/CMakeFiles/rota_core.dir/text.cc.o.d"
  "/work/main/src/core/validate.cc" "src/core/CMakeFiles/rota_core.dir/validate.cc.o" "gcc" "src/core/CMakeFiles/rota_core.dir/validate.cc.o.d"
  "/work/main/src/core/workspace.cc" "src/core/CMakeFiles/rota_core.dir/workspace.cc.o" "gcc" "src/core/CMakeFiles/rota_core.dir/workspace.cc.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")

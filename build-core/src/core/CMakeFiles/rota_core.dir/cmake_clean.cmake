file(REMOVE_RECURSE
  "CMakeFiles/rota_core.dir/conditions.cc.o"
  "CMakeFiles/rota_core.dir/conditions.cc.o.d"
  "CMakeFiles/rota_core.dir/decide.cc.o"
  "CMakeFiles/rota_core.dir/decide.cc.o.d"
  "CMakeFiles/rota_core.dir/eligibility.cc.o"
  "CMakeFiles/rota_core.dir/eligibility.cc.o.d"
  "CMakeFiles/rota_core.dir/model.cc.o"
  "CMakeFiles/rota_core.dir/model.cc.o.d"
  "CMakeFiles/rota_core.dir/rotation.cc.o"
  "CMakeFiles/rota_core.dir/rotation.cc.o.d"
  "CMakeFiles/rota_core.dir/state.cc.o"
  "CMakeFiles/rota_core.dir/state.cc.o.d"
  "CMakeFiles/rota_core.dir/status.cc.o"
  "CMakeFiles/rota_core.dir/status.cc.o.d"
  "CMakeFiles/rota_core.dir/text.cc.o"
  "CMakeFiles/rota_core.dir/text.cc.o.d"
  "CMakeFiles/rota_core.dir/validate.cc.o"
  "CMakeFiles/rota_core.dir/validate.cc.o.d"
  "CMakeFiles/rota_core.dir/workspace.cc.o"
  "CMakeFiles/rota_core.dir/workspace.cc.o.d"
  "librota_core.a"
  "librota_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/rota_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

file(REMOVE_RECURSE
  "librota_core.a"
)

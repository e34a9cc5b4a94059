# Empty dependencies file for rota_core.
# This may be replaced when dependencies are built.

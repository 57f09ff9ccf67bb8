"""Column mappings shipped with journeyscope, as YAML package data (``--mapping NAME``)."""

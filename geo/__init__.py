"""citygrid domain layer: models, spatial queries, analysis, maps and demo data (no HTTP here)."""

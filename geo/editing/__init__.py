"""Boundary editing for GIS staff: validated, versioned, conflict-safe grid edits (API, CLI and OGC Part 4)."""

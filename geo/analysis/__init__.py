"""Spatial analysis for the command centres: hot spots (Gi*), period change per grid, kernel density, hit rates."""

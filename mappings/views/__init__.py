"""The mapping designer's pages: mappings, preview, history, lineage and lookup tables."""

"""Manifests: carriers lodge what a vessel or flight brings; arrivals, amendments, matching and write-off."""

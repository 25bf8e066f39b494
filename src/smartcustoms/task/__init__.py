"""Tasks: one table for every kind of officer work on a declaration (review, inspection, image review, audit)."""

"""Selectivity: combining hits, scores and randomness into a lane, within each office's capacity."""

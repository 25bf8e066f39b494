"""Labelled history: imported from CSV with a mapping, or learned from outcomes; the model library trains on it."""

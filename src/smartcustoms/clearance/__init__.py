"""Clearance: the order of the steps after lodging (assess, review, inspect, release) and the release conditions."""

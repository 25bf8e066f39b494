"""Shared foundations: database base and session, value types, clock."""

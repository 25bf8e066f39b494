"""Duty assessment, payments, guarantees and the release condition "duties paid, guaranteed or nothing to pay"."""

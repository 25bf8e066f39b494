"""The append-only journal of every state change."""

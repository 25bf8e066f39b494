"""Users, roles, tokens and passwords."""

"""The command line (Typer): assembly only; each command calls services."""

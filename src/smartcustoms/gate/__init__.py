"""The port gate: may this truck's container leave? Checks against releases, gate-outs, holds; the terminals' feed; offline mode."""

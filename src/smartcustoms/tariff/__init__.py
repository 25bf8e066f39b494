"""The national tariff: lines with their rates and validity periods, and preferential rates by agreement."""

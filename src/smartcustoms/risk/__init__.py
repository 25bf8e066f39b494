"""Risk management: parameter library, knowledge base, model library, selectivity, simulator."""

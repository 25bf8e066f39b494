"""The knowledge base: reference prices, restricted goods, watch-listed parties, enterprise profiles."""

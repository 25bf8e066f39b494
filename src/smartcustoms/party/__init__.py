"""Enterprises (importers, exporters, brokers, carriers) and their credit."""

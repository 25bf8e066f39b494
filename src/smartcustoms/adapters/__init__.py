"""Edges of the system: message bus, webhook sender, file storage. Each: interface, real client, fake."""

"""Non-intrusive inspection: scans per container, image review with marked regions, training export."""

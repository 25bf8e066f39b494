"""JSON API routers (thin: parse, call one service, answer)."""

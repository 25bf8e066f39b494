"""Document review: an officer's decision on a yellow-lane declaration, and queries to the enterprise."""

"""Release: the release of a declaration's goods, its number, its signed receipt and the public check of it."""

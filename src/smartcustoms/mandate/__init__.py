"""Electronic mandates: an importer authorises a broker to declare in its name."""

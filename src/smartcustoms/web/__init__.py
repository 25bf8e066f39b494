"""The HTTP face of the platform: the JSON API, OpenAPI, and the web pages."""

"""Response and request models of the API."""

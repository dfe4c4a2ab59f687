"""Flask conventions shared by every service's REST API."""

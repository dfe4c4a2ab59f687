"""Local infrastructure and process supervision for development, the demo and the tests."""

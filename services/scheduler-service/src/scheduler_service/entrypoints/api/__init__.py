"""scheduler-service's REST API: the test clock (admin) and the boundaries it emitted (operators)."""

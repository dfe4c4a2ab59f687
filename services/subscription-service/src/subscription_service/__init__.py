"""subscription-service: shops, customers, schedules, order cycles, subscriptions and their occurrences: the
managers' REST API."""

SERVICE_NAME = "subscription-service"
DEFAULT_PORT = 8001

"""order-service: Orders placed for each due occurrence, editable until the cycle closes, confirmed at close; emails."""

SERVICE_NAME = "order-service"
DEFAULT_PORT = 8003

"""scheduler-service: turns order-cycle boundaries into events exactly once (OrderDue, OrderCycleOpened/Closed);
owns the test clock."""

SERVICE_NAME = "scheduler-service"
DEFAULT_PORT = 8002

"""Publishes order-service's outbox to Kafka: ``python -m order_service.entrypoints.relay``."""

from order_service import DEFAULT_PORT, SERVICE_NAME
from servicekit.runners import run_relay

if __name__ == "__main__":
    run_relay(SERVICE_NAME, DEFAULT_PORT)

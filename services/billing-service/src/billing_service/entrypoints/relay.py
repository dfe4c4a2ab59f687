"""Publishes billing-service's outbox to Kafka: ``python -m billing_service.entrypoints.relay``."""

from billing_service import DEFAULT_PORT, SERVICE_NAME
from servicekit.runners import run_relay

if __name__ == "__main__":
    run_relay(SERVICE_NAME, DEFAULT_PORT)

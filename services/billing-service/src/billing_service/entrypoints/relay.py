"""Publishes billing-service's outbox to Kafka: ``python -m billing_service.entrypoints.relay``."""

from servicekit.runners import run_relay
from billing_service import DEFAULT_PORT, SERVICE_NAME

if __name__ == "__main__":
    run_relay(SERVICE_NAME, DEFAULT_PORT)

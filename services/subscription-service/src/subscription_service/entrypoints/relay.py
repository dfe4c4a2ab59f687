"""Publishes subscription-service's outbox to Kafka: ``python -m subscription_service.entrypoints.relay``."""

from servicekit.runners import run_relay
from subscription_service import DEFAULT_PORT, SERVICE_NAME

if __name__ == "__main__":
    run_relay(SERVICE_NAME, DEFAULT_PORT)

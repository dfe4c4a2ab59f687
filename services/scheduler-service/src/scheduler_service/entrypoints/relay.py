"""Publishes scheduler-service's outbox to Kafka: ``python -m scheduler_service.entrypoints.relay``."""

from scheduler_service import DEFAULT_PORT, SERVICE_NAME
from servicekit.runners import run_relay

if __name__ == "__main__":
    run_relay(SERVICE_NAME, DEFAULT_PORT)

"""PostgreSQL projections and outbox, Kafka, external clients."""

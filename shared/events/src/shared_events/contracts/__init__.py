"""Every event type of the platform, one module per topic family. Importing this package
registers them all in shared_events.REGISTRY."""

from shared_events.contracts import (  # noqa: F401
    billing,
    catalog,
    customers,
    identity,
    orders,
    scheduler,
    schedules,
    shops,
    subscriptions,
)

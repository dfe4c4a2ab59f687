"""billing-service's own Prometheus metrics (the platform's come from servicekit.metrics)."""

from prometheus_client import Counter

STRIPE_REQUESTS = Counter("billing_stripe_requests_total", "Requests sent to Stripe, by operation and result",
                          ["operation", "result"])
STRIPE_LIMITER_WAIT = Counter("billing_stripe_limiter_wait_seconds_total",
                              "Time spent waiting for the client-side Stripe rate limiter")
CHARGE_OUTCOMES = Counter("billing_charge_outcomes_total", "Outcomes recorded for charge attempts", ["outcome"])

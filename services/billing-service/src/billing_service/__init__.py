"""billing-service: charges confirmed orders off-session through Stripe, never twice;
retries, 3-D Secure, webhooks, refunds."""

SERVICE_NAME = "billing-service"
DEFAULT_PORT = 8004

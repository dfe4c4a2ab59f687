"""servicekit.config's refusal of development defaults in production (the one check every service makes)."""

import pytest

from servicekit.config import DEVELOPMENT_VALUES, ConfigError, Settings, refuse_development_values

DEV_ADMIN = DEVELOPMENT_VALUES["ADMIN_TOKEN"]


def settings(app_env: str, admin_token: str | None) -> Settings:
    return Settings(service_name="probe", database_url="postgresql://x@127.0.0.1:1/none", kafka_bootstrap="x:1",
                    topic_prefix="", admin_token=admin_token, app_env=app_env, test_clock_url=None,
                    log_level="INFO", public_base_url="http://x", rate_limit_per_minute=60, max_body_bytes=1000)


def test_production_refuses_the_development_admin_token_and_names_it():
    with pytest.raises(ConfigError, match="ADMIN_TOKEN is not set to a value of your own"):
        settings("production", DEV_ADMIN)
    assert settings("production", "rop_admin_a-real-secret-of-this-platform").admin_token
    assert settings("production", None).admin_token is None  # no admin at all is a choice, not a default
    assert settings("development", DEV_ADMIN).admin_token == DEV_ADMIN
    assert settings("test", DEV_ADMIN).admin_token == DEV_ADMIN


def test_every_development_default_and_a_deploy_placeholder_is_named_at_once():
    values = {**DEVELOPMENT_VALUES, "STRIPE_PUBLISHABLE_KEY": "pk_live_REPLACE_WITH_YOUR_LIVE_PUBLISHABLE_KEY",
              "OTHER": "fine"}
    with pytest.raises(ConfigError) as refused:
        refuse_development_values("production", values)
    assert str(refused.value).endswith("ADMIN_TOKEN, STRIPE_API_KEY, STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET "
                                       "are not set to a value of your own")
    with pytest.raises(ConfigError, match="CURSOR_KEY is not"):  # a service adds its own defaults
        refuse_development_values("production", {"CURSOR_KEY": b"dev"}, {"CURSOR_KEY": "dev"})
    refuse_development_values("development", values)

"""Apply subscription-service's SQL migrations: ``python -m subscription_service.entrypoints.migrate``."""

from servicekit.db import migrate_dsn
from subscription_service.config import MIGRATIONS_DIR, ServiceSettings


def main() -> None:
    applied = migrate_dsn(ServiceSettings.base_from_env().database_url, MIGRATIONS_DIR)
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


if __name__ == "__main__":
    main()

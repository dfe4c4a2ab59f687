"""Apply order-service's SQL migrations: ``python -m order_service.entrypoints.migrate``."""

from order_service.config import MIGRATIONS_DIR, ServiceSettings
from servicekit.db import migrate_dsn


def main() -> None:
    applied = migrate_dsn(ServiceSettings.from_env().base.database_url, MIGRATIONS_DIR)
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


if __name__ == "__main__":
    main()

"""`python -m goaltrajectory.migrate [--wait SECONDS]`: apply pending database migrations and exit.

Idempotent and safe to run from several replicas or deploy jobs at once (advisory lock).
Exit codes: 0 migrated or already current, 1 database unreachable or migration failed, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import psycopg

from .config import ConfigError, Settings
from .db import SCHEMA_VERSION, migrate
from .logging import configure_logging

log = logging.getLogger("goaltrajectory.migrate")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m goaltrajectory.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=0.0, help="retry for up to this many seconds while unreachable")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        configure_logging("INFO")
        log.critical("invalid configuration", extra={"error": str(exc)})
        return 2
    configure_logging(settings.log_level)
    deadline = time.monotonic() + args.wait
    while True:
        try:
            applied = migrate(settings.database_conninfo)
        except psycopg.OperationalError as exc:
            if time.monotonic() >= deadline:
                log.error("database unreachable", extra={"database": settings.database_target, "error": str(exc)})
                return 1
            time.sleep(1.0)
            continue
        except psycopg.Error as exc:
            log.error("migration failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            return 1
        log.info(
            "database schema is current",
            extra={"schema_version": SCHEMA_VERSION, "applied": applied, "database": settings.database_target},
        )
        return 0


if __name__ == "__main__":
    sys.exit(main())

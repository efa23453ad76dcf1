"""`python -m goaltrajectory`: serve the API with one uvicorn process (scale with replicas, not workers).

uvicorn handles SIGTERM/SIGINT: it stops accepting connections, lets in-flight requests finish
(up to GRACEFUL_SHUTDOWN_TIMEOUT seconds), then runs the lifespan shutdown that closes the pool.
"""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from .config import ConfigError, Settings
from .logging import configure_logging


def main() -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        configure_logging("INFO")
        logging.getLogger("goaltrajectory").critical("invalid configuration", extra={"error": str(exc)})
        return 2
    configure_logging(settings.log_level)
    from .main import create_app  # after logging is set up, so import-time messages are JSON too

    uvicorn.run(
        create_app(settings, setup_logging=False),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the JSON handler configured above
        access_log=False,  # the request middleware logs each request once
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        server_header=False,
        timeout_graceful_shutdown=int(os.environ.get("GRACEFUL_SHUTDOWN_TIMEOUT", "20")),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m goaltrajectory.healthcheck [PATH]`: exit 0 if the local server answers 2xx on PATH (default /health).

For Docker HEALTHCHECK and Kubernetes exec probes in images that ship no curl. Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else "/health"
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{path}"
    timeout = float(os.environ.get("HEALTHCHECK_TIMEOUT", "3"))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            ok = 200 <= response.status < 300
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if not ok:
        print(f"unhealthy: {url}: HTTP {response.status}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

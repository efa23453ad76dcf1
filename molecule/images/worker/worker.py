"""A worker with no port: it beats a heartbeat file; `--check` exits 0 while the beat is fresh."""

import pathlib
import sys
import time

BEAT = pathlib.Path("/tmp/worker-heartbeat")


def main() -> int:
    if sys.argv[1:] == ["--check"]:
        try:
            return 0 if time.time() - BEAT.stat().st_mtime < 10 else 1
        except FileNotFoundError:
            return 1
    while True:
        BEAT.touch()
        time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())

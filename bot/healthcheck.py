"""`python -m bot.healthcheck`: exit 0 if this machine's bot answers ``GET /healthz``, else 1.

For container health checks (the image has no curl): it asks 127.0.0.1 on ``PORT`` (default
3000) with a 4-second limit and prints one line only when the answer is not healthy.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("PORT", "").strip() or "3000"
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as reply:
            body = json.loads(reply.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if body.get("ok") is not True:
        print(f"unhealthy: {url} answered {body}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``chalice local`` with TCP_NODELAY (the local stack's API server; same arguments as ``chalice``).

Trap: chalice local's request handler writes the headers and then the body in two small
sends on a keep-alive connection; with Nagle's algorithm on, the body waits for the client's
delayed ACK, about 40-45 ms on Linux, on every response (measured by bench/run.py). API
Gateway has no such delay, so the local API should not have it either.
"""

from __future__ import annotations

import sys

from chalice import local
from chalice.cli import main

local.ChaliceRequestHandler.disable_nagle_algorithm = True

if __name__ == "__main__":
    sys.exit(main())

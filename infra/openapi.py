"""Write the API description of the app's routes (``chalicelib/openapi/openapi.json``).

``python -m infra.openapi`` after changing a route; ``tests/unit/test_openapi.py`` fails
while the committed description differs from what this writes.
"""

from __future__ import annotations

import os
import sys

from chalicelib.openapi.document import DOCUMENT, build, render

# app.py's event-source decorators need stream ARNs at import; any will do for the routes
_STREAMS = ("CATALOGUE_DATASETS_STREAM_ARN", "CATALOGUE_ACCESS_STREAM_ARN", "CATALOGUE_FACILITY_STREAM_ARN")


def generate() -> str:
    """The description of the app's routes, as committed."""
    for name in _STREAMS:
        os.environ.setdefault(name, "arn:aws:dynamodb:eu-west-1:000000000000:table/x/stream/x")
    import app as app_module

    return render(build(app_module.app.routes))


def main() -> int:
    DOCUMENT.write_text(generate(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

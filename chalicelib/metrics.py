"""CloudWatch Embedded Metric Format: a metric is one JSON line on standard output.

Lambda ships stdout to CloudWatch Logs, which turns such a line into metric data points
(no API call, no client). Framework-free; the caller prints the line (or hands it to a sink).
"""

from __future__ import annotations

import json
from collections.abc import Mapping


def emf_line(namespace: str, values: Mapping[str, int | float], dimensions: Mapping[str, str], now: float) -> str:
    """One EMF line: ``values`` (metric name -> count) under ``dimensions``, at ``now`` (epoch s)."""
    return json.dumps(
        {
            "_aws": {
                "Timestamp": int(now * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [sorted(dimensions)],
                        "Metrics": [{"Name": name, "Unit": "Count"} for name in values],
                    }
                ],
            },
            **dimensions,
            **values,
        }
    )

"""The Grafana dashboard in docs/ only uses metrics that /metrics exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import generate_latest

from core.telemetry.metrics import REGISTRY

DASHBOARD = Path(__file__).resolve().parents[3] / "docs" / "grafana-dashboard.json"


def test_every_query_names_an_exposed_metric() -> None:
    exposed = {
        line.split()[2]
        for line in generate_latest(REGISTRY).decode().splitlines()
        if line.startswith("# TYPE")
    }
    series = {
        f"{name}{suffix}"
        for name in exposed
        for suffix in ("", "_total", "_bucket", "_count", "_sum")
    }
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    queried = {
        name
        for panel in panels
        for target in panel["targets"]
        for name in re.findall(r"\bkefu_\w+", target["expr"])
    }
    assert queried, "the dashboard has no queries"
    assert queried <= series, queried - series
    assert len(panels) >= 15

"""The support report as one self-contained HTML page (the dashboard and ``kefu report --html``)."""

from __future__ import annotations

from html import escape

from bot.feedback.analytics import Report
from bot.feedback.charts import BAD, GOOD, MUTED, bar_chart, column_chart, share_bar

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#111;max-width:980px}
h1{font-size:22px}h2{font-size:16px;margin-top:28px}
.tiles{display:flex;flex-wrap:wrap;gap:12px}
.tile{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:140px}
.tile b{display:block;font-size:22px}.tile span{color:#6b7280;font-size:12px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;
padding:6px;text-align:left;vertical-align:top;font-size:13px}.muted{color:#6b7280}
"""


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _tile(value: str, caption: str) -> str:
    return f"<div class='tile'><b>{escape(value)}</b><span>{escape(caption)}</span></div>"


def render_report(report: Report, *, title: str = "Kefu support report", nav: str = "") -> str:
    """A complete HTML document for ``report``; ``nav`` is trusted HTML put above the title."""
    period = report.since or report.first_event or "—"
    tiles = "".join(
        [
            _tile(str(report.conversations), "conversations"),
            _tile(_percent(report.resolved_by_bot_share), "resolved by the bot"),
            _tile(_percent(report.handoff_rate), "handed to a human"),
            _tile(_duration(report.wait_seconds.get("median")), "median wait for an agent"),
            _tile(
                "—" if report.csat_average is None else f"{report.csat_average:.2f} / 5",
                f"CSAT ({report.csat_count} ratings)",
            ),
            _tile(_percent(report.ratings_up_share), "👍 share of rated answers"),
            _tile(str(report.unanswered), "questions without an answer"),
        ]
    )
    sections = [
        _section(
            "Conversations per day",
            column_chart(list(report.per_day.items()), label="Conversations per day"),
        ),
        _section(
            "Conversations per channel",
            bar_chart(list(report.per_channel.items()), label="Conversations per channel"),
        ),
        _section(
            "Who resolved the conversations",
            share_bar(
                [
                    ("bot", report.resolved_by_bot, GOOD),
                    ("human agent", report.handoffs, "#f59e0b"),
                    (
                        "unresolved",
                        max(report.conversations - report.resolved_by_bot - report.handoffs, 0),
                        MUTED,
                    ),
                ],
                label="Resolution",
            ),
        ),
        _waits(report),
        _section(
            "Customer satisfaction (1-5)",
            bar_chart(
                [(f"{score} ★", n) for score, n in report.csat_distribution.items()],
                label="CSAT distribution",
            ),
        ),
        _section(
            "Answer ratings",
            share_bar(
                [("👍", report.ratings_up, GOOD), ("👎", report.ratings_down, BAD)],
                label="Answer ratings",
            ),
        ),
        _section("Top intents", bar_chart(report.top_intents, label="Top intents")),
        _gaps(report),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{nav}"
        f"<h1>{escape(title)}</h1><p class='muted'>Since {escape(period)} · last event "
        f"{escape(report.last_event or '—')} · days in {escape(report.timezone)}</p>"
        f"<div class='tiles'>{tiles}</div>{''.join(sections)}</body></html>"
    )


def _section(heading: str, body: str) -> str:
    return f"<section><h2>{escape(heading)}</h2>{body}</section>"


def _waits(report: Report) -> str:
    waits = report.wait_seconds
    if not waits:
        return _section("Waiting for an agent", "<p class='muted'>No handoffs were claimed.</p>")
    rows = "".join(
        f"<tr><th>{name}</th><td>{_duration(waits.get(name))}</td></tr>"
        for name in ("median", "mean", "p90", "max")
    )
    unclaimed = f"<p class='muted'>{report.unclaimed_handoffs} handoff(s) never claimed.</p>"
    return _section("Waiting for an agent", f"<table>{rows}</table>{unclaimed}")


def _gaps(report: Report) -> str:
    if not report.gaps:
        return _section("Top unanswered questions", "<p class='muted'>None. 🎉</p>")
    chart = bar_chart(
        [(group.example, group.count) for group in report.gaps],
        label="Unanswered question groups",
        color=BAD,
        label_width=300,
    )
    rows = "".join(
        f"<tr><td>{group.count}</td><td>{escape(group.example)}</td>"
        f"<td class='muted'>{escape(' · '.join(group.others))}</td></tr>"
        for group in report.gaps
    )
    table = f"<table><tr><th>Asked</th><th>Example</th><th>Also asked as</th></tr>{rows}</table>"
    return _section("Top unanswered questions (knowledge base gaps)", chart + table)

"""The support report as one HTML page (the dashboard and ``kefu report --html``), in English
or Chinese, with times in the report's time zone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from bot.feedback.analytics import Report
from bot.feedback.charts import BAD, GOOD, MUTED, bar_chart, column_chart, share_bar
from bot.staff.i18n import StaffLanguage, has_text, text
from bot.staff.render import render
from core.telemetry.llm_report import ModelRow


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


def intent_label(language: StaffLanguage, intent: str) -> str:
    """``order_status`` as the staff reads it (查询订单状态); the name itself when unknown."""
    key = f"intent.{intent}"
    return text(language, key) if has_text(key) else intent


def report_context(report: Report, language: StaffLanguage) -> dict[str, Any]:
    """Tiles and charts of ``report`` with captions in ``language``."""

    def t(key: str, **values: object) -> str:
        return text(language, key, **values)

    csat = "—" if report.csat_average is None else f"{report.csat_average:.2f} / 5"
    tiles = [
        (str(report.conversations), t("dashboard.conversations")),
        (_percent(report.resolved_by_bot_share), t("dashboard.resolved_by_bot")),
        (_percent(report.handoff_rate), t("dashboard.handed_over")),
        (_duration(report.wait_seconds.get("median")), t("dashboard.median_wait")),
        (csat, t("dashboard.csat", n=report.csat_count)),
        (_percent(report.ratings_up_share), t("dashboard.thumbs_up")),
        (str(report.unanswered), t("dashboard.unanswered")),
    ]
    unresolved = max(report.conversations - report.resolved_by_bot - report.handoffs, 0)
    charts = [
        (
            t("dashboard.per_day"),
            column_chart(list(report.per_day.items()), label=t("dashboard.per_day")),
        ),
        (
            t("dashboard.per_channel"),
            bar_chart(list(report.per_channel.items()), label=t("dashboard.per_channel")),
        ),
        (
            t("dashboard.who_resolved"),
            share_bar(
                [
                    (t("dashboard.bot"), report.resolved_by_bot, GOOD),
                    (t("dashboard.human"), report.handoffs, "#f59e0b"),
                    (t("dashboard.unresolved"), unresolved, MUTED),
                ],
                label=t("dashboard.who_resolved"),
            ),
        ),
        (
            t("dashboard.csat_title"),
            bar_chart(
                [(f"{score} ★", n) for score, n in report.csat_distribution.items()],
                label=t("dashboard.csat_title"),
            ),
        ),
        (
            t("dashboard.ratings"),
            share_bar(
                [("👍", report.ratings_up, GOOD), ("👎", report.ratings_down, BAD)],
                label=t("dashboard.ratings"),
            ),
        ),
        (
            t("dashboard.top_intents"),
            bar_chart(
                [(intent_label(language, i), n) for i, n in report.top_intents],
                label=t("dashboard.top_intents"),
            ),
        ),
    ]
    gap_chart = bar_chart(
        [(group.example, group.count) for group in report.gaps],
        label=t("dashboard.gaps"),
        color=BAD,
        label_width=300,
    )
    return {
        "report": report,
        "tiles": tiles,
        # the charts escape every label themselves
        "charts": [(heading, Markup(svg)) for heading, svg in charts],
        "gap_chart": Markup(gap_chart) if report.gaps else "",
        "duration": _duration,
        "percent": _percent,
    }


def render_report(
    report: Report,
    *,
    title: str | None = None,
    language: StaffLanguage = "en",
    models: Sequence[ModelRow] = (),
    page: str = "report.html",
    **extra: Any,
) -> str:
    """A complete HTML document for ``report`` (``page="dashboard.html"`` adds the admin bar)."""
    return render(
        page,
        language,
        timezone=report.timezone,
        title=title or text(language, "dashboard.title"),
        models=list(models),
        **report_context(report, language),
        **extra,
    )

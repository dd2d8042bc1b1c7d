"""Business hours: are agents expected to answer right now?"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.config.handoff import BusinessHours


def is_open(hours: BusinessHours, moment: datetime) -> bool:
    """True when ``moment`` (timezone-aware) falls in the service hours.

    A closing time earlier than the opening time spans midnight (``22:00``-``06:00``); the
    night then belongs to the day it started on.
    """
    if hours.always_open:
        return True
    local = moment.astimezone(ZoneInfo(hours.timezone))
    now = local.timetz().replace(tzinfo=None)
    if hours.opens <= hours.closes:
        return local.isoweekday() in hours.days and hours.opens <= now < hours.closes
    if now >= hours.opens:
        return local.isoweekday() in hours.days
    yesterday = (local.isoweekday() - 2) % 7 + 1
    return now < hours.closes and yesterday in hours.days

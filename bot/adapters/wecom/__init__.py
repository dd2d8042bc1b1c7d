"""WeCom (企业微信) self-built application channel: encrypted callbacks and message/send."""

from bot.adapters.wecom.adapter import WeComAdapter

__all__ = ["WeComAdapter"]

"""The terminal channel behind ``kefu chat``."""

"""Settings sections, one module per room; `core.settings.KefuSettings` aggregates them."""

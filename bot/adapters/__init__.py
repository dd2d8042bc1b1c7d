"""One folder per platform. Adapters are imported lazily, only when enabled in settings."""

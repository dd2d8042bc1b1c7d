"""Platform-neutral core: types, settings, errors, storage, LLM backends."""

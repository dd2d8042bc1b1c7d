import warnings

with warnings.catch_warnings():
    # discord.py imports the standard library's audioop (deprecated since 3.11) for voice,
    # which Kefu does not use; pytest turns that third-party warning into an error otherwise.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401

"""The web channels: the Rasa-compatible REST channel and the web chat page (WebSocket)."""

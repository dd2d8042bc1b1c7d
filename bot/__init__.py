"""The Kefu application: composition root, CLI, web server and the message pipeline."""

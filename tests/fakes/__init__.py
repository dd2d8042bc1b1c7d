"""Fake platform servers on 127.0.0.1 that speak just enough of each platform's HTTP API for the
real SDKs, and record what they receive so tests can assert on it."""

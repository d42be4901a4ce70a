"""Thin listeners grouped by kind; each folder has `register(app, services)`. They ack at once and do
the work in Bolt lazy listeners (a thread pool), so Slack's 3-second limit never depends on retrieval."""

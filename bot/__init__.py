"""The Slack front end: Bolt app wiring, thin listeners and Block Kit builders.

Translates Slack payloads into calls on the core (`knowledge`, `progress`) and results into Block Kit.
"""

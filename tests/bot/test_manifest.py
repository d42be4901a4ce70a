"""The manifest asks for exactly what the listeners use."""

from pathlib import Path

import yaml

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "manifest.yaml").read_text(encoding="utf-8"))


def test_manifest_matches_the_listeners():
    settings = MANIFEST["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened", "app_mention", "message.im", "message.channels", "message.groups",
        "assistant_thread_started", "assistant_thread_context_changed"}
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read", "assistant:write", "channels:history", "groups:history", "chat:write",
        "commands", "im:history", "im:write", "reactions:write", "users:read", "files:write", "mpim:write"}
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == ["/mlpath"]
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]
    assert MANIFEST["features"]["app_home"]["messages_tab_enabled"]
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"]
    assert "assistant_view" in MANIFEST["features"]

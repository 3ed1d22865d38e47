"""Which Slack settings each way of running the bot needs, checked before anything starts.

Two ways to run the bot (see README, Slack):

- **HTTP** (``partner-assistant serve``): Slack posts to ``/slack/events``; Bolt checks every
  request's signature, so it needs ``PA_SLACK_SIGNING_SECRET`` and ``PA_SLACK_BOT_TOKEN``.
- **Socket Mode** (``partner-assistant slack``): one process holds one WebSocket connection to
  Slack; nothing is posted to us, so no signing secret is needed, but an app-level token
  (``xapp-…``, ``PA_SLACK_APP_TOKEN``) and the bot token are.

A partial configuration is an operator's mistake with one fix, so it is reported as one line
naming the missing setting (:class:`SlackConfigError`), never as a traceback. This module
imports nothing heavy so the CLI can check before loading a model.
"""

from __future__ import annotations

from api.i18n import languages
from assistant.settings import SlackSettings


class SlackConfigError(ValueError):
    """The Slack settings cannot run the bot this way; the message says which one to set."""


def http_endpoint_wanted(slack: SlackSettings) -> bool:
    """Whether ``serve`` should mount ``/slack/events``: a signing secret says so, and so does a
    bot token unless the bot is meant to run in Socket Mode (``partner-assistant slack``)."""
    return slack.signing_secret is not None or (
        slack.bot_token is not None and not slack.socket_mode
    )


def check_http(slack: SlackSettings) -> None:
    if slack.bot_token is None:
        raise SlackConfigError(
            "PA_SLACK_BOT_TOKEN is not set: the Slack bot needs its bot token (xoxb-…) "
            "to answer, besides PA_SLACK_SIGNING_SECRET"
        )
    if slack.signing_secret is None:
        raise SlackConfigError(
            "PA_SLACK_SIGNING_SECRET is not set: the Events URL (/slack/events) needs the "
            "app's signing secret; or set PA_SLACK_SOCKET_MODE=true and run "
            "`partner-assistant slack`"
        )
    _check_bot_token(slack)
    _check_language(slack)


def check_socket_mode(slack: SlackSettings) -> None:
    if slack.bot_token is None:
        raise SlackConfigError(
            "PA_SLACK_BOT_TOKEN is not set: the Slack bot needs its bot token (xoxb-…)"
        )
    if slack.app_token is None:
        raise SlackConfigError(
            "PA_SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-…) "
            "with the connections:write scope"
        )
    if not slack.app_token.get_secret_value().startswith("xapp-"):
        raise SlackConfigError(
            "PA_SLACK_APP_TOKEN is not an app-level token: it starts with xapp- "
            "(Basic Information > App-Level Tokens)"
        )
    _check_bot_token(slack)
    _check_language(slack)


def _check_bot_token(slack: SlackSettings) -> None:
    token = slack.bot_token.get_secret_value() if slack.bot_token else ""
    if token.startswith("xapp-"):
        raise SlackConfigError(
            "PA_SLACK_BOT_TOKEN holds an app-level token (xapp-…): use the Bot User OAuth "
            "Token (xoxb-…) and put the app-level token in PA_SLACK_APP_TOKEN"
        )


def _check_language(slack: SlackSettings) -> None:
    if slack.default_language not in languages():
        raise SlackConfigError(
            f"PA_SLACK_DEFAULT_LANGUAGE={slack.default_language} has no UI strings: use one of "
            f"{', '.join(languages())} (api/static/i18n/<language>.json)"
        )

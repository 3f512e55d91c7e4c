"""The `context` every handler gets: python-telegram-bot's CallbackContext whose
`bot_data` is a `BotData` (PTB's `ContextTypes(bot_data=…)`), so a handler reaches the
services typed, with no lookup by a string key and no cast."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

if TYPE_CHECKING:
    from bot.chat.services import BotServices


class BotData:
    """What the Application keeps for all handlers: the bot's services, set once by
    `build_application` (PTB makes this object itself, with no arguments)."""

    __slots__ = ("_services",)

    def __init__(self) -> None:
        self._services: BotServices | None = None

    @property
    def services(self) -> BotServices:
        if self._services is None:
            raise RuntimeError("no services: build the Application with build_application")
        return self._services

    @services.setter
    def services(self, value: BotServices) -> None:
        self._services = value


Context = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]
CONTEXT_TYPES = ContextTypes(bot_data=BotData)
App = Application[ExtBot[Any], Context, dict[Any, Any], dict[Any, Any], BotData, JobQueue[Any]]
"""The Application `build_application` makes (PTB's builder does not type its job queue
with the context type it was given, hence `JobQueue[Any]`)."""


def services(context: Context) -> BotServices:
    """The services of the Application this handler runs in."""
    return context.bot_data.services

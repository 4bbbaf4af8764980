"""The SMS gateway interface and its backends, chosen by the SMS_BACKEND setting.

A gateway takes a phone number and a short text and either sends it or raises
SmsDeliveryError; the delivery records the error and retries later. Production plugs in the
operator's gateway as another class with the same `send` method.
"""

import logging
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("workflows.notifications.sms")


class SmsDeliveryError(Exception):
    """The gateway did not accept the message; the delivery will be retried."""


@dataclass(frozen=True)
class SmsMessage:
    to: str
    text: str


class SmsGateway(Protocol):
    def send(self, message: SmsMessage) -> str:
        """Sends one message; returns the gateway's message id. Raises SmsDeliveryError."""
        ...


class LoggingSmsBackend:
    """Development and demo: writes each message to the log instead of a phone network."""

    def send(self, message: SmsMessage) -> str:
        if not message.to:
            raise SmsDeliveryError("no phone number")
        logger.info("sms to=%s text=%s", mask_phone(message.to), message.text)
        return f"log-{abs(hash((message.to, message.text))) % 10**10}"


class UnreachableSmsBackend:
    """A gateway that is down: every send fails (for rehearsing outages and retries)."""

    def send(self, message: SmsMessage) -> str:
        raise SmsDeliveryError("SMS gateway unreachable")


def mask_phone(phone: str) -> str:
    """Logs keep the last four digits only."""
    return f"{'*' * max(len(phone) - 4, 0)}{phone[-4:]}"


def sms_gateway() -> SmsGateway:
    backend = getattr(settings, "SMS_BACKEND", "workflows.notifications.sms.LoggingSmsBackend")
    return import_string(backend)()

"""Antivirus hook: clamd's INSTREAM protocol over a unix socket or TCP.

When `CLAMD_SOCKET` or `CLAMD_HOST` is configured every upload is scanned, and anything but
a clear "OK" (clamd down, a timeout, a garbled reply) FAILS CLOSED: the result is `error`
and the upload is refused. With neither configured (development, tests) files count as
clean. The client is a few lines of the socket module so no third-party package is needed.

Protocol (clamd(8)): send ``zINSTREAM\\0``, then chunks each prefixed by their length as a
4-byte big-endian integer, then a zero-length chunk; clamd answers ``stream: OK\\0``,
``stream: <signature> FOUND\\0`` or ``<message> ERROR\\0``.
"""

import logging
import socket
import struct
from dataclasses import dataclass

from django.conf import settings
from django.db import models

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
MAX_REPLY = 4096


class ScanOutcome(models.TextChoices):
    # Values match Document.ScanStatus so the outcome can be stored as-is.
    CLEAN = "clean"
    INFECTED = "infected"
    ERROR = "error"


@dataclass(frozen=True)
class ScanResult:
    outcome: ScanOutcome
    detail: str = ""

    @property
    def is_clean(self) -> bool:
        return self.outcome == ScanOutcome.CLEAN


def scanner_configured() -> bool:
    return bool(settings.CLAMD_SOCKET or settings.CLAMD_HOST)


def _connect() -> socket.socket:
    timeout = float(getattr(settings, "CLAMD_TIMEOUT", 30))
    if settings.CLAMD_SOCKET:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(timeout)
        try:
            connection.connect(settings.CLAMD_SOCKET)
        except OSError:
            connection.close()
            raise
        return connection
    return socket.create_connection((settings.CLAMD_HOST, settings.CLAMD_PORT), timeout=timeout)


def _instream(connection: socket.socket, content: bytes) -> str:
    connection.sendall(b"zINSTREAM\0")
    for start in range(0, len(content), CHUNK_SIZE):
        chunk = content[start : start + CHUNK_SIZE]
        connection.sendall(struct.pack("!L", len(chunk)) + chunk)
    connection.sendall(struct.pack("!L", 0))
    reply = b""
    while not reply.endswith(b"\0") and len(reply) < MAX_REPLY:
        received = connection.recv(1024)
        if not received:
            break
        reply += received
    return reply.rstrip(b"\0").decode("utf-8", "replace").strip()


def scan_bytes(content: bytes) -> ScanResult:
    """Scans the bytes; never raises. Unreachable or unclear scanner → ERROR (fail closed)."""
    if not scanner_configured():
        return ScanResult(ScanOutcome.CLEAN, "scanner not configured")
    try:
        with _connect() as connection:
            reply = _instream(connection, content)
    except OSError as error:
        logger.error("virus scanner unreachable: %s", error)
        return ScanResult(ScanOutcome.ERROR, f"unreachable: {error}")
    if reply.endswith("FOUND"):
        signature = reply.removeprefix("stream:").removesuffix("FOUND").strip()
        logger.warning("virus scanner found %s", signature)
        return ScanResult(ScanOutcome.INFECTED, signature)
    if reply == "stream: OK":
        return ScanResult(ScanOutcome.CLEAN)
    logger.error("virus scanner could not scan: %r", reply[:200])
    return ScanResult(ScanOutcome.ERROR, reply[:200])

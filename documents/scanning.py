"""Antivirus hook: clamd's INSTREAM protocol over a unix socket or TCP.

When `CLAMD_SOCKET` or `CLAMD_HOST` is configured every upload is scanned, and anything but
a clear "OK" (clamd down, a timeout, a garbled reply) FAILS CLOSED: the result is `error`
and the upload is refused. With neither configured:
- where `DOCUMENT_SCAN_REQUIRED` is on (the default in production) the result is `error` too,
  so uploads are refused until a scanner is configured (and `check --deploy` says so);
- otherwise (development, test) the result is `not_scanned`: the file is stored under that
  status, never called clean, and staff cannot open it.
A caller that made the bytes itself (the demo seed) may vouch for them with a
`KnownContentScanner`; it is asked only where no real scanner is configured and none is
required. The client is a few lines of the socket module so no third-party package is needed.

Protocol (clamd(8)): send ``zINSTREAM\\0``, then chunks each prefixed by their length as a
4-byte big-endian integer, then a zero-length chunk; clamd answers ``stream: OK\\0``,
``stream: <signature> FOUND\\0`` or ``<message> ERROR\\0``.
"""

import hashlib
import logging
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

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
    NOT_SCANNED = "not_scanned"


@dataclass(frozen=True)
class ScanResult:
    outcome: ScanOutcome
    detail: str = ""

    @property
    def is_clean(self) -> bool:
        return self.outcome == ScanOutcome.CLEAN


class Scanner(Protocol):
    def scan(self, content: bytes) -> ScanResult: ...


class KnownContentScanner:
    """Passes exactly the bytes its creator made itself (by SHA-256); anything else is `not_scanned`.

    For the demo seed, which writes its own PDFs: they are known, not scanned, and this says so
    in `detail`. Never used where a real scanner is configured or one is required.
    """

    def __init__(self, contents: Iterable[bytes], *, vouched_by: str) -> None:
        self.digests = frozenset(hashlib.sha256(content).hexdigest() for content in contents)
        self.vouched_by = vouched_by

    def scan(self, content: bytes) -> ScanResult:
        if hashlib.sha256(content).hexdigest() in self.digests:
            return ScanResult(ScanOutcome.CLEAN, f"made by {self.vouched_by}")
        return ScanResult(ScanOutcome.NOT_SCANNED, "scanner not configured")


def scanner_configured() -> bool:
    return bool(settings.CLAMD_SOCKET or settings.CLAMD_HOST)


def scan_required() -> bool:
    """Uploads must be scanned (production): without a scanner they are refused, never stored."""
    return bool(settings.DOCUMENT_SCAN_REQUIRED)


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


def scan_bytes(content: bytes, *, fallback: Scanner | None = None) -> ScanResult:
    """Scans the bytes; never raises. Unreachable or unclear scanner → ERROR (fail closed).

    No scanner configured: ERROR where scanning is required, else the `fallback`'s answer or
    NOT_SCANNED. A configured scanner is always the one asked.
    """
    if not scanner_configured():
        if scan_required():
            logger.error("upload refused: no virus scanner is configured (CLAMD_SOCKET or CLAMD_HOST)")
            return ScanResult(ScanOutcome.ERROR, "scanner not configured")
        if fallback is not None:
            return fallback.scan(content)
        return ScanResult(ScanOutcome.NOT_SCANNED, "scanner not configured")
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

"""A clamd test peer: a unix-socket server that speaks clamd's real INSTREAM protocol.

It reads the command and the length-prefixed chunks exactly as clamd(8) does and answers
``stream: OK``, ``stream: Eicar-Test-Signature FOUND`` (when the bytes hold the EICAR test
string) or a reply it was told to give. It knows one signature, EICAR, and nothing else: a
file it passes was scanned through the real protocol, not checked for real viruses.

The whole test suite uploads through one session-wide peer (`clamd_peer` in
tests/conftest.py), so documents made by tests are `clean` only because a scanner said so.
"""

import socket
import struct
import tempfile
import threading
from pathlib import Path

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_MARKER = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"


class ClamdTestPeer:
    """A tiny clamd on a unix socket: reads a real INSTREAM exchange and answers like clamd does."""

    def __init__(self, path: Path | None = None, reply_with: str | None = None) -> None:
        # Unix socket paths must be short (108 bytes): a short temporary folder by default.
        self.path = path or Path(tempfile.mkdtemp(prefix="clamd-")) / "clamd.sock"
        self.reply_with = reply_with
        self.received: list[bytes] = []
        self.commands: list[bytes] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(self.path))
        self.server.listen(16)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def _read_exactly(self, connection: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = connection.recv(size - len(data))
            if not chunk:
                raise ConnectionError("client went away")
            data += chunk
        return data

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                try:
                    self._answer(connection)
                except (ConnectionError, OSError):
                    continue

    def _answer(self, connection: socket.socket) -> None:
        command = b""
        while not command.endswith(b"\0"):
            command += self._read_exactly(connection, 1)
        self.commands.append(command)
        content = b""
        while True:
            (length,) = struct.unpack("!L", self._read_exactly(connection, 4))
            if length == 0:
                break
            content += self._read_exactly(connection, length)
        self.received.append(content)
        if self.reply_with is not None:
            reply = self.reply_with
        elif EICAR_MARKER in content:
            reply = "stream: Eicar-Test-Signature FOUND"
        else:
            reply = "stream: OK"
        connection.sendall(reply.encode() + b"\0")

    def close(self) -> None:
        self.server.close()

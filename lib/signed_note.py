"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and the transparency log
checkpoint they carry (https://c2sp.org/tlog-checkpoint). The same text is read by Go's
golang.org/x/mod/sumdb/note and by the transparency-dev witnesses.

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
"— <key name> <base64(key id || signature)>". The key id is the first four bytes of
SHA-256(name || 0x0A || 0x01 || public key), so a verifier finds the right key among several
(a rotated key keeps verifying the checkpoints it signed).

Keys are written as Go's note package writes them:
  verifier: <name>+<hex key id>+<base64(0x01 || public key)>
  signer:   PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || private seed)>
"""

import base64
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space


class NoteError(ValueError):
    """A malformed note or key, a signature that does not verify, or one by an unknown key."""


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"a key name must be non-empty, without spaces or '+': {name!r}")


@dataclass(frozen=True)
class Verifier:
    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def text(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> "Verifier":
        try:
            name, hex_id, encoded = text.strip().split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
        except ValueError as error:
            raise NoteError(f"not a verifier key (<name>+<id>+<key>): {text.strip()[:80]!r}") from error
        _check_name(name)
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError(f"verifier key {name}: only Ed25519 keys are supported")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id.lower():
            raise NoteError(f"verifier key {name}: the key id {hex_id} does not match the key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes  # the 32-byte Ed25519 private key

    @classmethod
    def generate(cls, name: str) -> "Signer":
        _check_name(name)
        return cls(name, secrets.token_bytes(32))

    @property
    def verifier(self) -> Verifier:
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return Verifier(self.name, public.public_bytes(Encoding.Raw, PublicFormat.Raw))

    @property
    def text(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> "Signer":
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("not a signer key (PRIVATE+KEY+<name>+<id>+<key>)")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except ValueError as error:
            raise NoteError("signer key: the key is not base64") from error
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("signer key: only Ed25519 keys are supported")
        _check_name(parts[2])
        signer = cls(parts[2], raw[1:])
        if signer.verifier.key_id.hex() != parts[3].lower():
            raise NoteError(f"signer key {parts[2]}: the key id {parts[3]} does not match the key")
        return signer

    def sign(self, text: str) -> str:
        """The signed note: the text, a blank line and this key's signature line."""
        _check_text(text)
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(text.encode())
        encoded = base64.b64encode(self.verifier.key_id + signature).decode()
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {encoded}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n") or "\r" in text or "\n\n" in text:
        raise NoteError("a note's text ends with a newline and has no blank lines")


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes


def note_open(note: str, verifiers: Iterable[Verifier]) -> tuple[str, list[Verifier]]:
    """The note's text and the known keys whose signatures verify. Refused when no signature
    is by a known key (naming the keys that signed), or when a known key's signature fails."""
    text, signatures = _split(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[Verifier] = []
    for signature in signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not verifier.verify(text.encode(), signature.signature):
            raise NoteError(f"the signature by {signature.name} ({signature.key_id.hex()}) does not verify")
        verified.append(verifier)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in signatures)
        raise NoteError(f"the note is not signed by a known key (signed by: {names or 'nobody'})")
    return text, verified


def _split(note: str) -> tuple[str, list[Signature]]:
    head, separator, tail = note.rpartition("\n\n")
    if not separator or not tail.endswith("\n"):
        raise NoteError("not a signed note: no blank line before the signatures")
    signatures = []
    for line in tail[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"not a signature line: {line[:80]!r}")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].rpartition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError as error:
            raise NoteError(f"signature by {name}: not base64") from error
        if len(raw) < 5:
            raise NoteError(f"signature by {name}: too short")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return head + "\n", signatures


@dataclass(frozen=True)
class Checkpoint:
    """origin, tree size and root hash (RFC 9162 tree), and extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> "Checkpoint":
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint has an origin, a size and a root hash, one per line")
        origin, size, root, *extensions = lines[:-1]
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError(f"checkpoint size is not a decimal number: {size!r}")
        try:
            raw_root = base64.b64decode(root, validate=True)
        except ValueError as error:
            raise NoteError("checkpoint root hash is not base64") from error
        if len(raw_root) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
        return cls(origin, int(size), raw_root, tuple(extensions))


def checkpoint_open(note: str, verifiers: Iterable[Verifier], *, origin: str | None = None) -> Checkpoint:
    """A verified checkpoint from its signed note (refused: unknown key, bad signature, wrong
    origin, malformed)."""
    text, _ = note_open(note, verifiers)
    checkpoint = Checkpoint.parse(text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is for the log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint

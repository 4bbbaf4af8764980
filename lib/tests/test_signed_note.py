"""C2SP signed notes and checkpoints: key ids, signatures, unknown keys and malformed notes."""

import base64
import hashlib

import pytest

from lib.signed_note import Checkpoint, NoteError, Signer, Verifier, checkpoint_open, key_id, note_open

# An Ed25519 key with a fixed seed, so the expected text can be written down.
SIGNER = Signer("example.org/log", bytes(range(32)))


def test_the_key_id_is_the_c2sp_hash_of_name_type_and_key():
    public = SIGNER.verifier.public_key
    expected = hashlib.sha256(b"example.org/log\n\x01" + public).digest()[:4]
    assert key_id("example.org/log", public) == expected
    encoded = base64.b64encode(b"\x01" + public).decode()
    assert SIGNER.verifier.text == f"example.org/log+{expected.hex()}+{encoded}"
    assert Verifier.parse(SIGNER.verifier.text) == SIGNER.verifier
    assert Signer.parse(SIGNER.text) == SIGNER


def test_a_checkpoint_is_origin_size_and_base64_root_then_an_em_dash_signature_line():
    root = hashlib.sha256(b"root").digest()
    note = SIGNER.sign(Checkpoint("example.org/log", 42, root).text)
    text, signature = note.split("\n\n")
    assert text == f"example.org/log\n42\n{base64.b64encode(root).decode()}"
    assert signature.startswith("\u2014 example.org/log ") and signature.endswith("\n")
    raw = base64.b64decode(signature.split(" ")[2])
    assert raw[:4] == SIGNER.verifier.key_id and len(raw) == 4 + 64
    opened = checkpoint_open(note, [SIGNER.verifier], origin="example.org/log")
    assert (opened.size, opened.root) == (42, root)


def test_a_note_signed_by_an_unknown_key_is_refused_naming_the_key():
    stranger = Signer.generate("example.org/log")
    note = stranger.sign(Checkpoint("example.org/log", 1, bytes(32)).text)
    with pytest.raises(
        NoteError,
        match=f"not signed by a known key \\(signed by: example.org/log\\+{stranger.verifier.key_id.hex()}\\)",
    ):
        note_open(note, [SIGNER.verifier])


def test_a_rotated_key_still_verifies_what_it_signed():
    old_note = SIGNER.sign(Checkpoint("example.org/log", 1, bytes(32)).text)
    new = Signer.generate("example.org/log")
    assert checkpoint_open(old_note, [new.verifier, SIGNER.verifier]).size == 1


def test_an_altered_note_is_refused():
    note = SIGNER.sign(Checkpoint("example.org/log", 7, bytes(32)).text)
    with pytest.raises(NoteError, match="does not verify"):
        note_open(note.replace("\n7\n", "\n8\n"), [SIGNER.verifier])
    with pytest.raises(NoteError, match=r"for the log 'example\.org/log', not 'other'"):
        checkpoint_open(note, [SIGNER.verifier], origin="other")


@pytest.mark.parametrize(
    "note",
    ["", "no signatures\n", "a\n1\nAAAA\n\nnot a signature\n", "a\n1\nAAAA\n\n\u2014 a !!!\n"],
)
def test_malformed_notes_are_refused(note):
    with pytest.raises(NoteError):
        note_open(note, [SIGNER.verifier])


def test_malformed_checkpoints_and_keys_are_refused():
    for text in ("origin\n", "origin\nx\nAAAA\n", "origin\n01\n" + base64.b64encode(bytes(32)).decode() + "\n"):
        with pytest.raises(NoteError):
            Checkpoint.parse(text)
    for key in ("nothing", "a+b+c", SIGNER.verifier.text.replace("+", "+0", 1)):
        with pytest.raises(NoteError):
            Verifier.parse(key)

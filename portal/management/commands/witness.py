"""`manage.py witness --store DIR (--url BASE | --local) [--key VERIFIER ...]`: fetch the log's
latest checkpoint, verify its signature, check it is consistent with the last one this witness
stored, and store it. Run it from elsewhere (another machine, another administrator) on a
schedule; `verify_audit --witnessed DIR` then detects a truncated or rewritten log.

Without --key the witness trusts the verifier keys of this installation's settings; a witness
run by someone else should pin the key it was given (`--key <name>+<id>+<key>`).
"""

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lib.merkle import ProofError, verify_consistency
from lib.signed_note import Checkpoint as CheckpointNote
from lib.signed_note import NoteError, Verifier, checkpoint_open
from workflows.models import Checkpoint
from workflows.transparency import keys
from workflows.transparency.proofs import ProofRefused, consistency_proof

LATEST = "latest.checkpoint"
TIMEOUT_SECONDS = 10


def _get(url: str) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise CommandError(f"--url must be an http(s) address, not {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - checked above
            return response.read()
    except urllib.error.HTTPError as error:
        raise CommandError(f"{url} answered {error.code}: {error.read()[:200].decode(errors='replace')}") from error
    except (urllib.error.URLError, TimeoutError) as error:
        raise CommandError(f"{url} could not be fetched: {error}") from error


class Command(BaseCommand):
    help = "Fetches, verifies and stores the transparency log's latest checkpoint (a witness)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", required=True, help="The directory where this witness keeps checkpoints.")
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--url", help="The portal's base address, e.g. https://onedoor.example")
        where.add_argument("--local", action="store_true", help="Read the checkpoint from this database.")
        parser.add_argument("--key", action="append", default=[], metavar="VERIFIER", help="A verifier key to trust.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            verifiers = [Verifier.parse(text) for text in options["key"]] or keys.log_verifiers()
        except NoteError as error:
            raise CommandError(str(error)) from error
        origin = verifiers[0].name if options["key"] else keys.log_origin()
        base = (options["url"] or "").rstrip("/")
        if options["local"]:
            latest = Checkpoint.objects.order_by("-id").first()
            if latest is None:
                raise CommandError("the log has not signed a checkpoint yet")
            text = latest.note
        else:
            text = _get(f"{base}/transparency/checkpoint").decode("utf-8", errors="replace")
        try:
            new = checkpoint_open(text, verifiers, origin=origin)
        except NoteError as error:
            raise CommandError(f"checkpoint refused: {error}") from error

        store = Path(options["store"])
        store.mkdir(parents=True, exist_ok=True)
        previous_path = store / LATEST
        if previous_path.exists():
            try:
                old = checkpoint_open(previous_path.read_text(encoding="utf-8"), verifiers, origin=origin)
            except NoteError as error:
                raise CommandError(f"the checkpoint stored in {previous_path} no longer verifies: {error}") from error
            self._check_consistent(old, new, base=base, local=options["local"])
        name = f"{new.size:012d}-{new.root.hex()[:16]}.checkpoint"
        (store / name).write_text(text, encoding="utf-8")
        previous_path.write_text(text, encoding="utf-8")
        self.stdout.write(f"OK witnessed {new.origin} at size {new.size}, root {new.root.hex()} ({store / name})")

    def _check_consistent(self, old: CheckpointNote, new: CheckpointNote, *, base: str, local: bool) -> None:
        if new.size < old.size:
            raise CommandError(
                f"the log shrank: this witness saw {old.size} leaves, the log now says {new.size}"
                " — it was truncated or forked"
            )
        if new.size == old.size:
            if new.root != old.root:
                raise CommandError(f"two different roots for {new.size} leaves — the log was rewritten")
            return
        try:
            if local:
                path = consistency_proof(first=old.size, second=new.size)
            else:
                document = json.loads(_get(f"{base}/transparency/proof/consistency?first={old.size}&second={new.size}"))
                path = [base64.b64decode(h) for h in document["consistency_proof"]]
            verify_consistency(first=old.size, second=new.size, first_root=old.root, second_root=new.root, proof=path)
        except (ProofError, ProofRefused, ValueError, KeyError) as error:
            raise CommandError(
                f"the checkpoint of {new.size} leaves is not consistent with the witnessed one of {old.size}: {error}"
            ) from error

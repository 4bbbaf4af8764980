"""The transparency log of the audit rows (docs/transparency.md): an RFC 9162 Merkle tree over
every application event and data-access record, grown in batches by the sequencer, with signed
checkpoints. User transactions only insert their rows (an insert trigger queues each one in
LogPending); nothing they do reads or locks the tree.
"""

from django.db import models
from django.db.models.functions import Now


class LogSource(models.TextChoices):
    """Which table a leaf comes from (the name is part of the leaf's content)."""

    APPLICATION_EVENT = "application_event", "application event"
    DATA_ACCESS = "data_access", "data-access record"


class LogPending(models.Model):
    """An audit row committed but not yet in the tree. Written by the insert trigger of
    migration 0017 in the inserting transaction (so it exists exactly when the row does),
    removed by the sequencer in the transaction that adds the row's leaf."""

    source = models.CharField(max_length=20, choices=LogSource.choices)
    row_id = models.BigIntegerField()
    created_at = models.DateTimeField(db_default=Now())


class LogLeaf(models.Model):
    """One leaf of the tree: position, the row it stands for and its leaf hash."""

    index = models.BigIntegerField(primary_key=True)
    source = models.CharField(max_length=20, choices=LogSource.choices)
    row_id = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)
    integrated_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "row_id"], name="log_leaf_one_per_row")]


class LogNode(models.Model):
    """A complete perfect subtree above the leaves (level ≥ 1), stored when it completes, so
    a proof reads O(log n) nodes instead of the whole tree."""

    pk = models.CompositePrimaryKey("level", "index")
    level = models.SmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)


class LogHead(models.Model):
    """The tree's current size and right edge (its compact range: the roots of its perfect
    subtrees, largest first, 32 bytes each). One row; the sequencer locks it, so only one
    sequencer appends at a time and user transactions never touch it."""

    id = models.SmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)
    edge = models.BinaryField(default=b"")
    updated_at = models.DateTimeField(db_default=Now())


class Checkpoint(models.Model):
    """A signed tree head: the C2SP checkpoint note (origin, size, root) and its signature."""

    size = models.BigIntegerField(db_index=True)
    root = models.BinaryField(max_length=32)
    note = models.TextField()
    key_id = models.CharField(max_length=8)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-id"]

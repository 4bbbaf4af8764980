"""Tables that grow without bound, kept in bounds (docs/operations.md, "Growth"):

- append-only evidence (application events, data-access records) is never deleted: on
  PostgreSQL each table is partitioned by month (partitions.py keeps next months' partitions
  ready), so indexes, vacuum and backups work a month at a time;
- work done (outbox rows whose task confirmed, notification deliveries that finished, and
  notifications past their retention) is pruned in small batches (pruning.py).
"""

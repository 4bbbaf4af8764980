"""The transparency log of application events and data-access records (docs/transparency.md).

- `leaves`: the canonical content of a row and its leaf hash;
- `keys`: the log's Ed25519 signing key and the verifier keys it publishes;
- `sequencer`: `log_integrate`, which adds committed rows to the tree in batches and signs a
  checkpoint (the Celery task `workflows.transparency.integrate`, queue `transparency`);
- `proofs`: inclusion and consistency proofs from the stored tree;
- `views`: the public JSON and checkpoint at /transparency/.
"""

"""A person's rights over their data (download, correction, erasure) and the retention of
finished applications. docs/privacy.md explains what is kept, for how long and why."""

"""Helpers shared by the hardening tests (API fuzzing and the authorisation matrix)."""

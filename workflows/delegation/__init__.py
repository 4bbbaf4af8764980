"""Mandates (power of attorney): granting, accepting and ending them, and acting for the person
who gave one (the "Acting for" switch every page shows)."""

"""The demo national eID: a real OpenID Connect provider (django-oauth-toolkit's OIDC mode)
mounted under /demo-eid/ outside production (settings.DEMO_EID), so `make run` can show "Sign in
with national eID" end to end.

It stands for a separate system: the portal talks to it only over HTTP, through the same client
as to a real provider. Its authorize page lets you pick a person of its small registry and a
level, and answers the OAuth request; it never signs anybody in to the portal itself.
"""

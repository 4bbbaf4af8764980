"""Proactive offers (免申即享, issue 20): after an event (a newborn's household registration
approved), rules kept in the admin offer the person other services, prefilled from that
application and their verified profile, to confirm once; or grant them without a request, with a
notice and an opt-out.

The engine never waits for this: its notification task (workflows/notifications/hooks.py)
enqueues `workflows.offers.event_offers` for an event a rule reacts to, and that task makes the
offers (actions.event_offers). Accepting submits through the normal submission
(workflows.apply.actions.group_submit) with one idempotency key per offer.
"""

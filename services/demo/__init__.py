"""The demo catalogue (DESIGN §10): data dictionary, document types, services and life events.

The catalogue itself is data, catalogue.yaml, so that the administrators of a new deployment
can read and change it; `loader` checks it and publishes every version through the same
validation as an administrator's work. `seed_catalogue` is what seed_demo and the tests call.
"""

from services.demo.loader import seed_catalogue

__all__ = ["seed_catalogue"]

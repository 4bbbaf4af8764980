"""The demo eID's own register of people: who it can vouch for, by subject and resident ID."""

from dataclasses import dataclass

from accounts.demo import ALICE_VERIFIED

# The `acr` values the demo eID asserts (the portal's EID_ACR maps them to levels).
ACR = {"substantial": "urn:onedoor:eid:substantial", "high": "urn:onedoor:eid:high"}


@dataclass(frozen=True)
class DemoPerson:
    subject: str
    name: str
    resident_id: str
    note: str


PEOPLE = (
    DemoPerson(
        subject="demo-0001",
        name=ALICE_VERIFIED["person.full_name"],
        resident_id=ALICE_VERIFIED["person.id_number"],
        note="has a One Door account (alice) with a verified profile",
    ),
    DemoPerson(
        subject="demo-0002",
        name="Bob Li",
        resident_id="110101198803151237",
        note="has a One Door account (bob) with no verified identity yet",
    ),
    DemoPerson(
        subject="demo-0003",
        name="Chen Mei",
        resident_id="310104199207042561",
        note="has no One Door account yet",
    ),
)


def demo_person(subject: str) -> DemoPerson | None:
    return next((person for person in PEOPLE if person.subject == subject), None)

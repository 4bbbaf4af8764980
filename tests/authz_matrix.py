"""The authorisation matrix: what each standard actor gets from every URL of One Door.

One row per URL pattern name and HTTP method; tests/test_authorization_matrix.py discovers the
URL configuration and fails for a pattern (or API method) without a row here, and for a row
whose pattern no longer exists.

Reading a row: `alice_only(200)` means Alice gets 200 and every other signed-in person gets
404 (outsiders never learn that the object exists), and an anonymous visitor is sent to sign in
(`LOGIN`, a 302 to /accounts/login/) or, for the API, refused with 401/403 (`DENIED`).
Arguments name objects of the seeded world (tests/fuzz/world.py): {"group_id": "draft"} is the
id of Alice's draft. Each request runs in its own savepoint, so a POST by one actor changes
nothing for the next.

Adding a URL: add a row with the narrowest expectation that is true, and ask yourself whether
Bob and the other department's clerk get 404.
"""

from dataclasses import dataclass, field

# `delegate`: Carol, acting for Alice under Alice's mandate (prepare only, for the service of
# Alice's draft); she reaches that draft and nothing else of Alice's.
ACTORS = ("anonymous", "alice", "bob", "clerk_a", "clerk_b", "supervisor", "administrator", "delegate")
SIGNED_IN = ACTORS[1:]
CLERKS = ("clerk_a", "clerk_b", "supervisor")  # department members (supervisor: department A)

LOGIN = "login"  # 302 to the sign-in page, with ?next=
DENIED = frozenset({401, 403})  # the API's answer to an anonymous caller
REDIRECT = 302
NOT_FOUND = 404

Expect = int | str | frozenset[int]


def _table(anonymous: Expect, default: Expect, **overrides: Expect) -> dict[str, Expect]:
    table = {"anonymous": anonymous, **dict.fromkeys(SIGNED_IN, default)}
    unknown = set(overrides) - set(ACTORS)
    assert not unknown, f"unknown actors {unknown}"
    table.update(overrides)
    return table


def everyone(code: Expect, *, anonymous: Expect | None = None, **overrides: Expect) -> dict[str, Expect]:
    """The same answer for everybody (signed in or not, unless `anonymous` says otherwise)."""
    return _table(code if anonymous is None else anonymous, code, **overrides)


def signed_in(code: Expect, *, anonymous: Expect = LOGIN, **overrides: Expect) -> dict[str, Expect]:
    """Anyone signed in (each sees only their own things)."""
    return _table(anonymous, code, **overrides)


def alice_only(code: Expect, *, anonymous: Expect = LOGIN, **overrides: Expect) -> dict[str, Expect]:
    """Alice's own object: everyone else gets 404."""
    return _table(anonymous, NOT_FOUND, alice=code, **overrides)


def department_a(code: Expect, *, anonymous: Expect = LOGIN, **overrides: Expect) -> dict[str, Expect]:
    """Department A's work: its clerk and supervisor; everyone else (clerk B included) 404."""
    return _table(anonymous, NOT_FOUND, clerk_a=code, supervisor=code, **overrides)


def supervisor_only(code: Expect, *, anonymous: Expect = LOGIN, **overrides: Expect) -> dict[str, Expect]:
    return _table(anonymous, NOT_FOUND, supervisor=code, **overrides)


def finance_only(code: Expect, *, anonymous: Expect = LOGIN, **overrides: Expect) -> dict[str, Expect]:
    """Finance staff of the payment's department (a role none of the standard actors holds):
    every standard actor gets 404; `code` is what finance staff get (tested with them in
    payments/tests)."""
    return _table(anonymous, NOT_FOUND, **overrides)


def members(code: Expect, *, anonymous: Expect = LOGIN, **overrides: Expect) -> dict[str, Expect]:
    """Any department member (each sees their own departments' work); citizens 404."""
    return _table(anonymous, NOT_FOUND, **dict.fromkeys(CLERKS, code), **overrides)


@dataclass(frozen=True)
class Row:
    name: str
    expect: dict[str, Expect]
    method: str = "GET"
    # URL converter name → a key of the seeded world, or a literal (int/str) when not a key.
    args: dict[str, str | int] = field(default_factory=dict)
    data: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    json: bool = False  # send `data` as a JSON body (the API)

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.method)


ITEM = {"item_id": "submitted_item"}
DRAFT = {"group_id": "draft"}
SUBMITTED = {"number": "submitted"}
PAYMENT = {"reference": "payment"}
MANDATE = {"mandate_id": "mandate"}
API_DENIED = {"anonymous": DENIED}
STAFF_MEMBER = {"code": "market", "user_id": "clerk_a_user"}
APPOINTMENT_STEP = {"item_id": "appointment_item"}
APPOINTMENT_LINK = {"token": "appointment_token"}

ROWS: list[Row] = [
    # --- Public pages ------------------------------------------------------------------------
    Row("portal:home", everyone(200)),
    Row("portal:accessibility", everyone(200)),
    Row("healthz", everyone(frozenset({200, 503}))),
    # Metrics answer only METRICS_ALLOWED_IPS or the METRICS_TOKEN; the matrix runs with an
    # allowed list the test client's 127.0.0.1 is not on, so everybody, staff included, gets 404
    # (portal/tests/test_metrics.py tests the allowed address and the token).
    Row("metrics", everyone(NOT_FOUND)),
    # Signed-in people are sent home from the sign-up and sign-in pages.
    Row("accounts:register", signed_in(REDIRECT, anonymous=200)),
    Row("accounts:login", signed_in(REDIRECT, anonymous=200)),
    Row("accounts:logout", everyone(REDIRECT), method="POST"),
    # National eID (accounts/eid/): switched off in the matrix's settings (no provider running),
    # so sign-in says so; a callback with no sign-in started is refused for everyone.
    Row("accounts:eid-login", everyone(NOT_FOUND)),
    Row("accounts:eid-callback", everyone(400)),
    # The demo national eID (portal/demo_eid/), mounted outside production: a provider answers
    # everyone alike; a request naming no client is refused, the bearer-only endpoint says 401.
    Row("oauth2_provider:authorize", everyone(400)),
    Row("oauth2_provider:authorize", everyone(400), method="POST"),
    Row("oauth2_provider:token", everyone(frozenset({400, 401})), method="POST"),
    Row("oauth2_provider:oidc-connect-discovery-info", everyone(200)),
    Row("oauth2_provider:jwks-info", everyone(200)),
    Row("oauth2_provider:user-info", everyone(401)),
    Row("portal:account", signed_in(200)),
    Row("accounts:password-change", signed_in(200)),
    Row("accounts:password-reset", everyone(200)),
    Row("accounts:password-reset-sent", everyone(200)),
    Row("accounts:password-reset-confirm", everyone(200), args={"uidb64": "MQ", "token": "not-a-token"}),
    Row("accounts:password-reset-complete", everyone(200)),
    Row("accounts:email-verify", everyone(400), args={"token": "not-a-token"}),
    Row("accounts:email-verification-send", signed_in(REDIRECT), method="POST"),
    Row("accounts:sessions-end-others", signed_in(REDIRECT), method="POST"),
    # Department administrators manage their department's staff; the portal's administrator all.
    Row("accounts:staff", _table(LOGIN, NOT_FOUND, administrator=200)),
    Row(
        "accounts:staff-grant",
        _table(LOGIN, NOT_FOUND, administrator=REDIRECT),
        method="POST",
        args={"code": "market"},
        data={"person": "nobody", "role": "clerk"},
    ),
    Row("accounts:staff-revoke", _table(LOGIN, NOT_FOUND), method="POST", args={"membership_id": 999999}),
    Row(
        "accounts:staff-invite",
        _table(LOGIN, NOT_FOUND, administrator=REDIRECT),
        method="POST",
        args={"code": "market"},
        data={"name": "New Clerk", "email": "new.clerk@example.org", "role": "clerk"},
    ),
    Row(
        "accounts:staff-invitation-withdraw",
        _table(LOGIN, NOT_FOUND, administrator=REDIRECT),
        method="POST",
        args={"invitation_id": "invitation"},
    ),
    # Suspending and resuming: a page to confirm, then the POST; only for the department's managers.
    Row("accounts:staff-suspend", _table(LOGIN, NOT_FOUND, administrator=200), args=STAFF_MEMBER),
    Row(
        "accounts:staff-suspend",
        _table(LOGIN, NOT_FOUND, administrator=REDIRECT),
        method="POST",
        args=STAFF_MEMBER,
    ),
    Row("accounts:staff-resume", _table(LOGIN, NOT_FOUND, administrator=200), args=STAFF_MEMBER),
    Row(
        "accounts:staff-resume",
        _table(LOGIN, NOT_FOUND, administrator=REDIRECT),
        method="POST",
        args=STAFF_MEMBER,
    ),
    # The invitation's link: the form to create an account for a stranger; any signed-in account
    # (none uses the invited address) is refused, nothing granted.
    Row("accounts:invitation", signed_in(403, anonymous=200), args={"token": "invitation_token"}),
    Row("accounts:invitation", signed_in(403, anonymous=400), method="POST", args={"token": "invitation_token"}),
    # The legal representative of an organisation (Alice, by the business register) manages its
    # representatives; nobody else learns it exists. An empty form: the page again with errors.
    Row("accounts:organisation-representatives", alice_only(200), args={"organisation_id": "tea_house"}),
    Row(
        "accounts:organisation-representatives",
        alice_only(400),
        method="POST",
        args={"organisation_id": "tea_house"},
        data={},
    ),
    Row(
        "accounts:organisation-representative-remove",
        alice_only(REDIRECT),
        method="POST",
        args={"organisation_id": "tea_house", "user_id": "delegate_user"},
    ),
    # --- Second factors ------------------------------------------------------------------------
    Row("accounts:security", signed_in(200)),
    # Nobody is adding an app: back to the security page.
    Row("accounts:security-app", signed_in(REDIRECT)),
    Row("accounts:security-app", signed_in(REDIRECT), method="POST", data={"code": "123456"}),
    # Alice has an app but her session has not confirmed it: to the verification step first.
    Row("accounts:security-app-start", signed_in(REDIRECT), method="POST"),
    Row("accounts:security-recovery-codes", signed_in(200, alice=REDIRECT), method="POST"),
    Row(
        "accounts:security-remove",
        alice_only(REDIRECT),
        args={"kind": "app", "device_id": "alice_app"},
    ),
    Row(
        "accounts:security-remove",
        alice_only(REDIRECT),
        method="POST",
        args={"kind": "app", "device_id": "alice_app"},
    ),
    Row("accounts:security-remove", everyone(NOT_FOUND, anonymous=LOGIN), args={"kind": "other", "device_id": 1}),
    # Only Alice has a factor to confirm; everyone else is sent on (to add one, or where they were going).
    Row("accounts:verify", signed_in(REDIRECT, alice=200)),
    Row("accounts:verify", signed_in(REDIRECT, alice=400), method="POST", data={"code": "000000"}),
    # django-otp-webauthn's ceremonies (JSON): never for an anonymous caller (no passwordless
    # sign-in); Alice must confirm her app before she adds a passkey.
    Row("otp_webauthn:credential-registration-begin", signed_in(200, anonymous=403, alice=403), method="POST"),
    # No ceremony was begun: 400 (the state is missing).
    Row("otp_webauthn:credential-registration-complete", signed_in(400, anonymous=403, alice=403), method="POST"),
    Row("otp_webauthn:credential-authentication-begin", signed_in(200, anonymous=403), method="POST"),
    Row("otp_webauthn:credential-authentication-complete", signed_in(400, anonymous=403), method="POST"),
    Row("otp_webauthn:js-i18n-catalog", everyone(200)),
    Row("set_language", everyone(REDIRECT), method="POST", data={"language": "zh-hans", "next": "/"}),
    Row("services:catalogue", everyone(200)),
    Row("services:service", everyone(200), args={"code": "service"}),
    Row("services:service_eligibility", everyone(200), args={"code": "service"}),
    Row("services:life_event", everyone(200), args={"code": "life_event"}),
    Row("services:life_event_eligibility", everyone(200), args={"code": "life_event"}),
    Row("documents:verify_start", everyone(200)),
    Row("documents:verify", everyone(200), args={"code": "verification_code"}),
    # The transparency log is public: anyone may check it (hashes and signed checkpoints only).
    Row("workflows:transparency", everyone(200)),
    Row("workflows:transparency-checkpoint", everyone(200)),
    Row("workflows:transparency-history", everyone(200)),
    Row("workflows:transparency-inclusion", everyone(400)),  # without ?index=
    Row("workflows:transparency-consistency", everyone(400)),  # without ?first=
    # Anyone may check a certificate file (no file: a clear 400) and fetch our revocation lists.
    Row("documents:verify_upload", everyone(400), method="POST"),
    Row("documents:revocation_list", everyone(200), args={"label": "issuing"}),
    Row("api-schema", everyone(200)),
    Row("api-docs", everyone(200)),
    # --- The vault -----------------------------------------------------------------------------
    Row("documents:vault", signed_in(200)),
    Row("documents:delete", alice_only(200), args={"document_id": "document"}),
    Row("documents:download", alice_only(200), args={"document_id": "document"}),
    Row("documents:preview", alice_only(200), args={"document_id": "document"}),
    # --- Apply once ----------------------------------------------------------------------------
    Row("workflows:apply-start-service", signed_in(200), args={"code": "service"}),
    Row("workflows:apply-start-life-event", signed_in(200), args={"code": "life_event"}),
    Row("workflows:apply-list", signed_in(200)),
    # The delegate acting for Alice works on her draft (its service is in the mandate's scope).
    Row("workflows:apply-resume", alice_only(REDIRECT, delegate=REDIRECT), args=DRAFT),
    Row("workflows:apply-section", alice_only(200, delegate=200), args={**DRAFT, "index": 1}),
    Row("workflows:apply-materials", alice_only(200, delegate=200), args=DRAFT),
    Row("workflows:apply-review", alice_only(200, delegate=200), args=DRAFT),
    # Alice's draft is incomplete: the review page again, with what is missing (400). The
    # delegate may only prepare: sent back to the review page with the refusal.
    Row(
        "workflows:apply-submit",
        alice_only(400, delegate=REDIRECT),
        method="POST",
        args=DRAFT,
        data={"token": "matrix"},
    ),
    Row("workflows:apply-move-to-current", alice_only(REDIRECT, delegate=REDIRECT), method="POST", args=DRAFT),
    Row("workflows:apply-receipt", alice_only(200), args={"group_id": "submitted_group"}),
    # --- Mandates: Alice gave one to the delegate, who accepted it --------------------------------
    Row("workflows:mandate-list", signed_in(200)),
    Row("workflows:mandate-new", signed_in(200)),
    # Nothing filled in: the form again with its errors, for everyone.
    Row("workflows:mandate-new", signed_in(400), method="POST", data={}),
    Row("workflows:mandate-detail", alice_only(200, delegate=200), args=MANDATE),
    # Already accepted: back to the list; only the delegate can accept.
    Row("workflows:mandate-accept", alice_only(NOT_FOUND, delegate=REDIRECT), method="POST", args=MANDATE),
    Row("workflows:mandate-end", alice_only(REDIRECT, delegate=REDIRECT), method="POST", args=MANDATE),
    Row("workflows:mandate-act", alice_only(NOT_FOUND, delegate=REDIRECT), method="POST", args=MANDATE),
    Row("workflows:mandate-act-as-myself", signed_in(REDIRECT), method="POST"),
    # --- Progress: my applications, inbox, ratings, access log -------------------------------
    Row("workflows:progress-group", alice_only(200), args={"number": "bundle"}),
    Row("workflows:progress-application", alice_only(200), args=SUBMITTED),
    Row("workflows:progress-correction", alice_only(REDIRECT), args=SUBMITTED),
    # No correction sent yet: back to the application.
    Row("workflows:progress-correction-sent", alice_only(REDIRECT), args=SUBMITTED),
    Row("workflows:progress-withdraw", alice_only(200), args=SUBMITTED),
    Row("workflows:progress-rate", alice_only(200), args={"number": "decided"}),
    Row("workflows:progress-rate-step", alice_only(200), args={"number": "decided", "step_key": "licence"}),
    # Proactive offers (免申即享): only the person the offer was made to; answering always goes back
    # to a page (the receipt, or the offer with a message).
    Row("workflows:offer", alice_only(200), args={"offer_id": "offer"}),
    Row("workflows:offer-accept", alice_only(REDIRECT), method="POST", args={"offer_id": "offer"}),
    Row("workflows:offer-decline", alice_only(REDIRECT), method="POST", args={"offer_id": "offer"}),
    Row("workflows:offer-opt-out", alice_only(REDIRECT), method="POST", args={"offer_id": "offer"}),
    Row("workflows:progress-inbox", signed_in(200)),
    Row("workflows:progress-read-all", signed_in(REDIRECT), method="POST"),
    Row("workflows:progress-message", alice_only(200), args={"notification_id": "notification"}),
    Row("workflows:progress-preferences", signed_in(200)),
    Row("workflows:progress-access-log", signed_in(200)),
    # Following an application without an account: public, and bad input is a 400 with a message.
    Row("workflows:track", everyone(200)),
    Row("workflows:track", everyone(400), method="POST", data={"number": "", "id_last4": "", "date_of_birth": ""}),
    # My data: each person's own; a download of another person's data is 404.
    Row("workflows:privacy-data", signed_in(200)),
    Row("workflows:privacy-data", signed_in(REDIRECT), method="POST"),
    Row("workflows:privacy-export-download", alice_only(200), args={"export_id": "alice_export"}),
    Row("workflows:privacy-profile", signed_in(200)),
    Row("workflows:privacy-profile", signed_in(400), method="POST", data={"display_name": ""}),
    # Erasure is for citizens; staff accounts are closed by their administrators.
    Row("workflows:privacy-erase", _table(LOGIN, NOT_FOUND, alice=200, bob=200, delegate=200)),
    Row("workflows:privacy-erase", _table(LOGIN, NOT_FOUND, alice=400, bob=400, delegate=400), method="POST"),
    # A record's proof (its content, leaf and audit path) is only for the person it is about.
    Row("workflows:progress-access-proof", alice_only(200), args={"record_id": "access_record"}),
    Row("workflows:progress-access-proof-page", alice_only(200), args={"record_id": "access_record"}),
    # The supervision figures: supervisors for their departments; the administrator for all.
    Row("workflows:progress-supervision", supervisor_only(200, administrator=200)),
    Row("workflows:progress-follow-up", supervisor_only(200, administrator=200), args={"follow_up_id": "follow_up"}),
    # --- The department workbench --------------------------------------------------------------
    Row("workflows:workbench", members(200)),
    Row("workflows:workbench-bulk", members(REDIRECT), method="POST", data={"action": "claim"}),
    Row("workflows:workbench-item", department_a(200), args=ITEM),
    Row("workflows:workbench-claim", department_a(REDIRECT), method="POST", args=ITEM),
    Row("workflows:workbench-release", department_a(REDIRECT), method="POST", args=ITEM),
    Row("workflows:workbench-reveal", department_a(200), method="POST", args=ITEM, data={"field": "person.id_number"}),
    Row("workflows:workbench-document", department_a(200), args={**ITEM, "document_id": "lease"}),
    # The sandboxed first-page preview: staff of the department whose application holds it.
    Row("workflows:workbench-document-preview", department_a(200), args={**ITEM, "document_id": "lease"}),
    Row("workflows:workbench-document-preview-image", department_a(200), args={**ITEM, "document_id": "lease"}),
    # An empty form: the item page again with the errors (400), nothing decided.
    Row("workflows:workbench-decide", department_a(400), method="POST", args=ITEM),
    Row("workflows:workbench-correction", department_a(400), method="POST", args=ITEM),
    Row("workflows:workbench-note", department_a(REDIRECT), method="POST", args=ITEM, data={"text": "Looks fine."}),
    Row("workflows:workbench-transfer", department_a(400), method="POST", args=ITEM),
    Row("workflows:workbench-assign", supervisor_only(400), method="POST", args=ITEM),
    Row(
        "workflows:workbench-revoke",
        department_a(400),
        method="POST",
        args={"item_id": "decided_item", "certificate_id": "certificate"},
    ),
    Row("workflows:workbench-supervision", supervisor_only(200)),
    Row("workflows:workbench-counter", members(200)),
    Row("workflows:workbench-counter-identity", members(200)),
    Row(
        "workflows:workbench-counter-identity",
        members(400),
        method="POST",
        data={"person": "nobody", "full_name": "No Body", "resident_id": "not-an-id", "card_seen": "on"},
    ),
    # A citizen's own draft is not a counter filing: nobody reaches it through the counter.
    Row("workflows:workbench-counter-form", everyone(NOT_FOUND, anonymous=LOGIN), args=DRAFT),
    Row("workflows:workbench-counter-done", everyone(NOT_FOUND, anonymous=LOGIN), args=DRAFT),
    # Declining without a note is refused with a message: back to the supervision page.
    Row(
        "workflows:workbench-transfer-decide",
        supervisor_only(REDIRECT),
        method="POST",
        args={"request_id": "transfer_request"},
        data={"decision": "decline"},
    ),
    Row(
        "workflows:workbench-incident",
        supervisor_only(REDIRECT),
        method="POST",
        args={"incident_id": "incident", "verb": "retry"},
    ),
    # --- The catalogue API (public, read-only) -------------------------------------------------
    Row("services-api:service-list", everyone(200)),
    Row("services-api:service-detail", everyone(200), args={"code": "service"}),
    Row("services-api:life-event-list", everyone(200)),
    Row("services-api:life-event-detail", everyone(200), args={"code": "life_event"}),
    Row("services-api:data-element-list", everyone(200)),
    Row("services-api:data-element-detail", everyone(200), args={"key": "data_element"}),
    Row("services-api:document-type-list", everyone(200)),
    # --- The vault API -------------------------------------------------------------------------
    Row("documents-api:list", signed_in(200, **API_DENIED)),
    Row("documents-api:list", signed_in(400, **API_DENIED), method="POST"),
    Row("documents-api:detail", alice_only(200, **API_DENIED), args={"document_id": "document"}),
    # The lease is attached to a submitted application: Alice may not delete it (409).
    Row("documents-api:detail", alice_only(409, **API_DENIED), method="DELETE", args={"document_id": "lease"}),
    Row("documents-api:download", alice_only(200, **API_DENIED), args={"document_id": "document"}),
    # --- The drafts API ------------------------------------------------------------------------
    Row("workflows-api:drafts", signed_in(200, **API_DENIED)),
    Row(
        "workflows-api:drafts",
        signed_in(201, **API_DENIED),
        method="POST",
        data={"service": "business-licence"},
        json=True,
    ),
    Row("workflows-api:draft", alice_only(200, **API_DENIED), args=DRAFT),
    Row(
        "workflows-api:draft",
        alice_only(200, **API_DENIED),
        method="PATCH",
        args=DRAFT,
        data={"data": {"business.name": "Noodle Bar"}},
        json=True,
    ),
    Row(
        "workflows-api:draft-documents",
        alice_only(200, **API_DENIED),
        method="POST",
        args=DRAFT,
        data={"document_type": "lease-agreement", "document": "alice_lease"},
        json=True,
    ),
    Row(
        "workflows-api:draft-submit",
        alice_only(422, **API_DENIED),
        method="POST",
        args=DRAFT,
        headers={"Idempotency-Key": "matrix-key-1"},
    ),
    Row("workflows-api:draft-move", alice_only(200, **API_DENIED), method="POST", args=DRAFT),
    # --- The workbench API ---------------------------------------------------------------------
    Row("workflows-api:workbench-queue", members(200, **API_DENIED)),
    Row("workflows-api:workbench-item", department_a(200, **API_DENIED), args=ITEM),
    Row("workflows-api:workbench-claim", department_a(200, **API_DENIED), method="POST", args=ITEM),
    Row("workflows-api:workbench-release", department_a(409, **API_DENIED), method="POST", args=ITEM),
    Row(
        "workflows-api:workbench-decide",
        department_a(409, **API_DENIED),
        method="POST",
        args=ITEM,
        data={"decision": "approved"},
        json=True,
    ),
    # Department A's clerk has not claimed the item and the supervisor is not its assignee: 409
    # for the clerk (only the assignee or a supervisor transfers); the supervisor transfers it.
    Row(
        "workflows-api:workbench-transfer",
        {**department_a(409, **API_DENIED), "supervisor": 200},
        method="POST",
        args=ITEM,
        data={"department": "fire", "reason": "Fire matter"},
        json=True,
    ),
    Row("workflows-api:workbench-transfer-requests", supervisor_only(200, **API_DENIED)),
    Row(
        "workflows-api:workbench-transfer-request-decide",
        supervisor_only(200, **API_DENIED),
        method="POST",
        args={"request_id": "transfer_request"},
        data={"decision": "decline", "note": "Ours."},
        json=True,
    ),
    Row(
        "workflows-api:workbench-correction",
        department_a(409, **API_DENIED),
        method="POST",
        args=ITEM,
        data={"fields": ["business.name"], "message": "Please check the name."},
        json=True,
    ),
    # --- The progress API ----------------------------------------------------------------------
    Row("workflows-api:my-applications", signed_in(200, **API_DENIED)),
    Row("workflows-api:my-application", alice_only(200, **API_DENIED), args=SUBMITTED),
    Row("workflows-api:my-access-log", signed_in(200, **API_DENIED)),
    Row("workflows-api:notifications", signed_in(200, **API_DENIED)),
    Row("workflows-api:notifications-read-all", signed_in(200, **API_DENIED), method="POST"),
    Row(
        "workflows-api:notification-read",
        alice_only(200, **API_DENIED),
        method="POST",
        args={"notification_id": "notification"},
    ),
    Row("workflows-api:ratings", signed_in(200, **API_DENIED)),
    Row(
        "workflows-api:ratings",
        alice_only(201, **API_DENIED),
        method="POST",
        data={"application": "decided", "score": 5},
        json=True,
    ),
    Row("workflows-api:supervision-dashboard", supervisor_only(200, administrator=200, **API_DENIED)),
    # --- Appointments ----------------------------------------------------------------------------
    # Alice's inspection step is booked already: the booking page leads to her booking, and a
    # second booking is refused (400). The signed link works without signing in, for whoever
    # holds it; a forged one is 404 (tests in appointments/tests/test_links.py).
    Row("appointments:step-book", alice_only(REDIRECT), args=APPOINTMENT_STEP),
    Row("appointments:step-book", alice_only(400), method="POST", args=APPOINTMENT_STEP, data={"time": "x"}),
    Row("appointments:service-book", signed_in(200), args={"code": "marriage-registration"}),
    Row(
        "appointments:service-book",
        signed_in(400),
        method="POST",
        args={"code": "marriage-registration"},
        data={"time": "2000-01-01T09:00"},
    ),
    Row("appointments:manage", everyone(200), args=APPOINTMENT_LINK),
    Row("appointments:reschedule", everyone(200), args=APPOINTMENT_LINK),
    Row("appointments:reschedule", everyone(400), method="POST", args=APPOINTMENT_LINK, data={"time": "x"}),
    Row("appointments:cancel", everyone(200), args=APPOINTMENT_LINK),
    Row("appointments:cancel", everyone(REDIRECT), method="POST", args=APPOINTMENT_LINK),
    Row("appointments:calendar", everyone(200), args=APPOINTMENT_LINK),
    # Each member sees the places of their own departments (clerk B: the fire inspectors).
    Row("appointments:counter", members(200)),
    Row(
        "appointments:counter-mark",
        department_a(REDIRECT),
        method="POST",
        args={"appointment_id": "appointment", "action": "check-in"},
    ),
    Row("appointments-api:my-appointments", signed_in(200, **API_DENIED)),
    Row("appointments-api:step-free-times", alice_only(200, **API_DENIED), args=APPOINTMENT_STEP),
    Row(
        "appointments-api:step-book",
        alice_only(409, **API_DENIED),
        method="POST",
        args=APPOINTMENT_STEP,
        data={"time": "2000-01-01T09:00"},
        json=True,
    ),
    Row(
        "appointments-api:reschedule",
        alice_only(409, **API_DENIED),
        method="POST",
        args={"appointment_id": "appointment"},
        data={"time": "x"},
        json=True,
    ),
    Row(
        "appointments-api:cancel", alice_only(200, **API_DENIED), method="POST", args={"appointment_id": "appointment"}
    ),
    # --- Payments (payments/): the payer's pages, the provider's webhook, finance staff ---------
    # None of the standard actors holds the finance role: finance pages answer 404 to all of
    # them; payments/tests/test_refunds_and_finance.py proves what finance staff see.
    Row("payments:pay", alice_only(200), args=SUBMITTED),
    # No payment step waits on this application: Alice is sent back with a message.
    Row("payments:pay", alice_only(REDIRECT), method="POST", args=SUBMITTED, data={"token": "t"}),
    Row("payments:return", alice_only(REDIRECT), args=PAYMENT),
    # Unsigned: refused (400) for everyone; the webhook needs no session, only the signature.
    Row("payments:webhook", everyone(400), method="POST", args={"provider": "simulator"}, data={}),
    Row("payments:finance-payments", finance_only(200)),
    Row("payments:finance-payment", finance_only(200), args=PAYMENT),
    Row("payments:finance-payment", finance_only(400), method="POST", args=PAYMENT, data={}),
    Row("payments:finance-refunds", finance_only(200)),
    Row("payments:finance-reconciliation", finance_only(200)),
    Row("payments-api:payment-create", signed_in(400, **API_DENIED), method="POST", data={}, json=True),
    Row("payments-api:payment", alice_only(200, **API_DENIED), args=PAYMENT),
    Row(
        "payments-api:refund-create",
        finance_only(201, **API_DENIED),
        method="POST",
        args=PAYMENT,
        data={"amount_fen": 50, "refund_amount_available": 12050},
        json=True,
    ),
]

# The admin site is Django's: one group. Non-staff are sent to the admin's sign-in page; staff
# without model permissions (clerks) see the index but no model (403); the administrator sees all.
ADMIN_PREFIX = "admin/"

"""Adding, using and removing second factors (authenticator apps and recovery codes; passkeys
are enrolled and used in tests/test_browser_second_factor.py with Chromium's authenticator)."""

import datetime
import time

import pytest
import time_machine
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.assurance import SESSION_ASSURANCE_KEY
from accounts.models import SecondFactorChange

pytestmark = pytest.mark.django_db

# Two seconds into the next 30-second step from now: near enough to now that signed-in sessions
# do not time out, with room in the step for what a test does at one frozen instant.
START = datetime.datetime.fromtimestamp((time.time() // 30 + 1) * 30 + 2, tz=datetime.UTC)


def code_now(device: TOTPDevice, *, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift + offset)
    return f"{totp.token():06d}"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def password_sign_in(client, username: str, password: str):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


@pytest.fixture
def alice_app(alice) -> TOTPDevice:
    return TOTPDevice.objects.create(user=alice, name="Alice's phone", confirmed=True)


def test_an_app_is_added_only_after_a_right_code(client, alice):
    client.force_login(alice)
    with time_machine.travel(START, tick=False) as traveller:
        response = client.post(reverse("accounts:security-app-start"))
        assert response["Location"] == reverse("accounts:security-app")
        page = client.get(response["Location"]).content.decode()
        assert '<svg role="img" aria-label="QR code to scan with your authenticator app"' in page
        device = TOTPDevice.objects.get(user=alice)
        assert not device.confirmed
        secret = page.split('<code class="od-secret" lang="en">')[1].split("</code>")[0]
        assert len(secret.replace(" ", "")) == 32  # the base32 key, to type in

        response = client.post(reverse("accounts:security-app"), {"code": wrong(code_now(device))})
        assert response.status_code == 400
        assert "That code is not right" in response.content.decode()
        device.refresh_from_db()
        assert not device.confirmed

        traveller.shift(datetime.timedelta(seconds=3))  # past the throttle's 1 second
        response = client.post(reverse("accounts:security-app"), {"code": code_now(device)})
        assert response["Location"] == reverse("accounts:security")
        page = client.get(reverse("accounts:security")).content.decode()
    device.refresh_from_db()
    assert device.confirmed
    assert SecondFactorChange.objects.filter(user=alice, kind="app", action="added").count() == 1
    assert "Your authenticator app is added" in page
    assert "Recent changes" in page and "Authenticator app (Authenticator app): added" in page


def test_an_empty_or_malformed_code_is_refused_with_a_message(client, alice):
    client.force_login(alice)
    client.post(reverse("accounts:security-app-start"))
    response = client.post(reverse("accounts:security-app"), {"code": "abc"})
    assert response.status_code == 400
    assert "Enter the 6-digit code your authenticator app shows." in response.content.decode()
    response = client.post(reverse("accounts:security-app"), {"code": ""})
    assert response.status_code == 400
    assert "Enter the code." in response.content.decode()


def test_after_a_password_the_verification_step_comes_first_and_keeps_next(client, alice, alice_app, password):
    response = client.post(reverse("accounts:login") + "?next=/account/", {"username": "alice", "password": password})
    assert response["Location"] == reverse("accounts:verify") + "?next=%2Faccount%2F"
    # Nothing else opens until the factor is confirmed.
    assert client.get(reverse("portal:account"))["Location"].startswith(reverse("accounts:verify"))
    api = client.get(reverse("workflows-api:my-applications"))
    assert api.status_code == 403 and "second factor" in api.json()["detail"]
    response = client.post(response["Location"], {"code": code_now(alice_app)})
    assert response["Location"] == "/account/"
    assert client.get(reverse("portal:account")).status_code == 200


def test_an_app_code_works_once(client, alice, alice_app, password):
    with time_machine.travel(START, tick=False):
        code = code_now(alice_app)
        password_sign_in(client, "alice", password)
        assert client.post(reverse("accounts:verify"), {"code": code})["Location"] == reverse("portal:home")
        client.post(reverse("accounts:logout"))
        password_sign_in(client, "alice", password)
        response = client.post(reverse("accounts:verify"), {"code": code})
        assert response.status_code == 400
        assert "That code is not right, or it was used already." in response.content.decode()
        assert client.get(reverse("portal:account"))["Location"].startswith(reverse("accounts:verify"))


def test_a_wrong_code_slows_the_next_attempt_down(client, alice, alice_app, password):
    with time_machine.travel(START, tick=False) as traveller:
        password_sign_in(client, "alice", password)
        assert client.post(reverse("accounts:verify"), {"code": wrong(code_now(alice_app))}).status_code == 400
        # Even the right code waits out the throttle (django-otp: 1, 2, 4 … seconds).
        response = client.post(reverse("accounts:verify"), {"code": code_now(alice_app)})
        assert response.status_code == 400
        assert "Too many wrong codes. Wait" in response.content.decode()
        traveller.shift(datetime.timedelta(seconds=2))
        assert client.post(reverse("accounts:verify"), {"code": code_now(alice_app)}).status_code == 302


def test_recovery_codes_are_shown_once_and_each_works_once(client, alice, password):
    client.force_login(alice)
    response = client.post(reverse("accounts:security-recovery-codes"))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    codes = list(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True))
    assert len(codes) == 10
    page = response.content.decode()
    assert all(code in page for code in codes)
    assert codes[0] not in client.get(reverse("accounts:security")).content.decode()  # shown only once
    client.post(reverse("accounts:logout"))

    with time_machine.travel(START, tick=False) as traveller:
        password_sign_in(client, "alice", password)
        assert client.post(reverse("accounts:verify"), {"code": codes[0].upper()}).status_code == 302
        client.post(reverse("accounts:logout"))
        password_sign_in(client, "alice", password)
        response = client.post(reverse("accounts:verify"), {"code": codes[0]})
        assert response.status_code == 400
        traveller.shift(datetime.timedelta(seconds=2))
        response = client.post(reverse("accounts:verify"), {"code": codes[1]}, follow=True)
        assert "You used a recovery code. 8 are left" in response.content.decode()
        assert "8 codes left" in client.get(reverse("accounts:security")).content.decode()
    assert StaticToken.objects.filter(device__user=alice).count() == 8


def test_new_recovery_codes_replace_the_old_ones(client, alice):
    client.force_login(alice)
    client.post(reverse("accounts:security-recovery-codes"))
    first = set(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True))
    # Now that she has a factor, changing them needs it confirmed first.
    assert client.post(reverse("accounts:security-recovery-codes"))["Location"].startswith(reverse("accounts:verify"))
    assert client.post(reverse("accounts:verify"), {"code": sorted(first)[0]}).status_code == 302
    client.post(reverse("accounts:security-recovery-codes"))
    second = set(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True))
    assert len(second) == 10 and not first & second
    assert StaticDevice.objects.filter(user=alice).count() == 1


def test_a_session_that_has_not_confirmed_a_factor_cannot_change_them(client, alice, alice_app):
    client.force_login(alice)  # a citizen: the test client confirms nothing for her
    for url in (reverse("accounts:security-recovery-codes"), reverse("accounts:security-app-start")):
        assert client.post(url)["Location"].startswith(reverse("accounts:verify"))
    remove = reverse("accounts:security-remove", args=["app", alice_app.pk])
    assert client.post(remove)["Location"].startswith(reverse("accounts:verify"))
    assert TOTPDevice.objects.filter(user=alice).count() == 1
    assert not StaticDevice.objects.filter(user=alice).exists()


def test_removing_asks_first_and_is_recorded(client, alice, alice_app, password):
    password_sign_in(client, "alice", password)
    client.post(reverse("accounts:verify"), {"code": code_now(alice_app)})
    remove = reverse("accounts:security-remove", args=["app", alice_app.pk])
    page = client.get(remove).content.decode()
    assert "Remove this authenticator app?" in page and "It is your only second factor" in page
    assert TOTPDevice.objects.filter(pk=alice_app.pk).exists()
    assert client.post(remove)["Location"] == reverse("accounts:security")
    assert not TOTPDevice.objects.filter(pk=alice_app.pk).exists()
    change = SecondFactorChange.objects.get(user=alice, action="removed")
    assert (change.kind, change.name) == ("app", "Alice's phone")
    assert "Alice&#x27;s phone" in client.get(reverse("accounts:security")).content.decode()


def test_an_outsider_cannot_see_or_remove_someone_elses_factor(client, alice_app, bob):
    client.force_login(bob)
    remove = reverse("accounts:security-remove", args=["app", alice_app.pk])
    assert client.get(remove).status_code == 404
    assert client.post(remove).status_code == 404
    assert client.get(reverse("accounts:security-remove", args=["nonsense", alice_app.pk])).status_code == 404
    assert TOTPDevice.objects.filter(pk=alice_app.pk).exists()
    assert "Alice" not in client.get(reverse("accounts:security")).content.decode()


def test_a_second_factor_raises_an_eid_session_to_high_and_leaves_a_password_session_low(
    client, alice, alice_app, password
):
    password_sign_in(client, "alice", password)
    client.post(reverse("accounts:verify"), {"code": code_now(alice_app)})
    assert client.session[SESSION_ASSURANCE_KEY]["level"] == "low"
    assert "second_factor" in client.session[SESSION_ASSURANCE_KEY]["methods"]
    client.post(reverse("accounts:logout"))

    # An eID sign-in (recorded as accounts/eid does) and then the app's next code.
    client.force_login(alice)
    session = client.session
    session[SESSION_ASSURANCE_KEY] = {"level": "substantial", "methods": ["eid"], "since": int(time.time())}
    session.save()
    response = client.post(reverse("accounts:verify"), {"code": code_now(alice_app, offset=1)})
    assert response.status_code == 302
    assert client.session[SESSION_ASSURANCE_KEY]["level"] == "high"


def test_my_account_lists_second_factors_and_links_to_the_security_page(client, alice, alice_app):
    client.force_login(alice)
    page = client.get(reverse("portal:account")).content.decode()
    assert "Authenticator app: Alice&#x27;s phone" in page
    assert f'href="{reverse("accounts:security")}"' in page


def test_a_passkey_cannot_sign_anybody_in_on_its_own(client):
    """Passwordless sign-in is off: both ceremonies refuse a caller who is not signed in."""
    for name in ("credential-authentication-begin", "credential-authentication-complete"):
        response = client.post(reverse(f"otp_webauthn:{name}"))
        assert response.status_code == 403
        assert response.json()["code"] == "not_authenticated"

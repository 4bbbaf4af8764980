"""Demo staff confirm a second factor like everyone else: their demo authenticator's code comes
from `manage.py demo_code`, which works only outside production."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.demo import DEMO_AUTHENTICATOR, seed_accounts, seed_departments
from accounts.models import User

pytestmark = pytest.mark.django_db


def test_the_demo_code_is_one_the_demo_staff_members_authenticator_accepts_once():
    seed_departments()
    seed_accounts()
    clerk = User.objects.filter(username__startswith="clerk.").first()
    out = StringIO()
    call_command("demo_code", clerk.username, stdout=out)
    code = out.getvalue().strip()
    device = clerk.totpdevice_set.get(name=DEMO_AUTHENTICATOR)
    assert len(code) == 6 and device.verify_token(code)
    assert not device.verify_token(code)  # used once only
    assert not User.objects.get(username="alice").totpdevice_set.exists()  # citizens choose their own


def test_no_demo_code_in_production_or_for_someone_without_one(settings, alice):
    with pytest.raises(CommandError, match="no demo authenticator"):
        call_command("demo_code", "alice")
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("demo_code", "alice")

import logging
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import invitations, staff
from accounts.actions import user_register
from accounts.assurance import Level, Method, assurance_record
from accounts.eid.client import eid_enabled
from accounts.email_verification import email_verification_send
from accounts.forms import InvitationAccountForm, RegistrationForm, SignInForm
from accounts.models import Department, Invitation, Membership, MembershipChange, Role, User
from accounts.requests import AuthenticatedRequest
from accounts.second_factor.gate import PENDING_KEY
from accounts.second_factor.selectors import has_second_factor
from accounts.selectors import identity_checked_in_person
from accounts.sessions import sign_in_record

logger = logging.getLogger("accounts.security")


def eid_login_url(next_url: str = "") -> str:
    """Where "Sign in with national eID" goes (empty when no eID is configured)."""
    if not eid_enabled():
        return ""
    query = {"level": Level.SUBSTANTIAL, "next": next_url} if next_url else {"level": Level.SUBSTANTIAL}
    return reverse("accounts:eid-login") + "?" + urlencode(query)


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:home")
    form = RegistrationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = user_register(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            display_name=form.cleaned_data["display_name"],
            preferred_language=form.cleaned_data["preferred_language"],
        )
        login(request, user, backend="accounts.backends.UsernameOrEmailBackend")
        sign_in_record(request=request, user=user)
        assurance_record(request, method=Method.PASSWORD)
        email_verification_send(user=user)
        messages.success(
            request,
            _(
                "Your account has been created. You are signed in. We have sent a link to %(email)s: "
                "open it to confirm the address."
            )
            % {"email": user.email},
        )
        return redirect("portal:home")
    context = {"form": form, "eid_login_url": eid_login_url()}
    return render(request, "accounts/register.html", context, status=400 if form.errors else 200)


class SignInView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        context = super().get_context_data(**kwargs)
        context["eid_login_url"] = eid_login_url(self.get_redirect_url())
        return context

    def get_default_redirect_url(self) -> str:
        """Without a `next`: staff start at their workbench (a counter clerk at the counter),
        everyone else at the home page."""
        user = self.request.user
        if not user.is_authenticated:
            return super().get_default_redirect_url()
        roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
        if roles and roles <= {Role.COUNTER_CLERK}:
            return reverse("workflows:workbench-counter")
        if roles:
            return reverse("workflows:workbench")
        return super().get_default_redirect_url()

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        sign_in_record(request=self.request, user=user)
        assurance_record(self.request, method=Method.PASSWORD)
        if identity_checked_in_person(user=user):
            assurance_record(self.request, method=Method.COUNTER)
        if has_second_factor(user=user):
            # Signed in, but only the verification step opens until the factor is confirmed.
            self.request.session[PENDING_KEY] = True
            return redirect(f"{reverse('accounts:verify')}?{urlencode({'next': self.get_success_url()})}")
        return response


def lockout(request: HttpRequest, credentials: dict | None = None, *args: object, **kwargs: object) -> HttpResponse:
    """django-axes' lockout page: says plainly how long to wait."""
    from django.conf import settings

    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return render(request, "accounts/lockout.html", {"cooloff_minutes": minutes}, status=429)


# --- Staff of a department -------------------------------------------------------------------


def _managed(request: AuthenticatedRequest) -> QuerySet[Department]:
    departments = staff.managed_departments(actor=request.user).order_by("code")
    if not departments.exists():
        raise Http404  # only department administrators (and portal administrators) manage staff
    return departments


@dataclass
class StaffMember:
    """One person's line on the staff page: their roles in one department, suspended or not."""

    user: User
    memberships: list[Membership] = field(default_factory=list)

    @property
    def suspended(self) -> bool:
        return any(membership.suspended for membership in self.memberships)


@login_required
@require_GET
def staff_list(request: AuthenticatedRequest) -> HttpResponse:
    departments = list(_managed(request))
    # all_objects: the page shows suspended people too (and only this page and the admin do).
    memberships = (
        Membership.all_objects.filter(department__in=departments)
        .select_related("user", "department")
        .order_by("department__code", "user__display_name", "user__username", "role")
    )
    people: dict[int, dict[int, StaffMember]] = {department.pk: {} for department in departments}
    for membership in memberships:
        member = people[membership.department_id].setdefault(membership.user_id, StaffMember(user=membership.user))
        member.memberships.append(membership)
    pending: dict[int, list[Invitation]] = {department.pk: [] for department in departments}
    for invitation in invitations.pending_invitations(departments=departments):
        pending[invitation.department_id].append(invitation)
    changes = MembershipChange.objects.filter(department__in=departments).select_related(
        "actor", "user", "department", "invitation"
    )[:50]
    context = {
        "sections": [
            (department, list(people[department.pk].values()), pending[department.pk]) for department in departments
        ],
        "roles": Role.choices,
        "changes": changes,
    }
    return render(request, "accounts/staff.html", context)


@login_required
@require_POST
def staff_grant(request: AuthenticatedRequest, code: str) -> HttpResponse:
    department = get_object_or_404(_managed(request), code=code)
    try:
        membership = staff.staff_role_grant(
            actor=request.user,
            department=department,
            identifier=request.POST.get("person", ""),
            role=request.POST.get("role", ""),
        )
    except staff.StaffChangeRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            _("%(name)s is now %(role)s in %(department)s.")
            % {"name": membership.user.name, "role": membership.get_role_display(), "department": department.name},
        )
    return redirect("accounts:staff")


@login_required
@require_POST
def staff_revoke(request: AuthenticatedRequest, membership_id: int) -> HttpResponse:
    _managed(request)
    try:
        membership = staff.staff_role_revoke(actor=request.user, membership_id=membership_id)
    except staff.NotManaged as refused:
        raise Http404 from refused  # not theirs to see
    except staff.StaffChangeRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            _("%(name)s is no longer %(role)s in %(department)s.")
            % {
                "name": membership.user.name,
                "role": membership.get_role_display(),
                "department": membership.department.name,
            },
        )
    return redirect("accounts:staff")


@login_required
@require_POST
def staff_invite(request: AuthenticatedRequest, code: str) -> HttpResponse:
    department = get_object_or_404(_managed(request), code=code)
    try:
        invitation = invitations.invitation_send(
            actor=request.user,
            department=department,
            email=request.POST.get("email", ""),
            name=request.POST.get("name", ""),
            role=request.POST.get("role", ""),
        )
    except staff.NotManaged as refused:
        raise Http404 from refused
    except staff.StaffChangeRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            _("We have sent %(name)s an invitation to %(email)s. The link works for 7 days.")
            % {"name": invitation.name, "email": invitation.email},
        )
    return redirect("accounts:staff")


@login_required
@require_POST
def staff_invitation_withdraw(request: AuthenticatedRequest, invitation_id: int) -> HttpResponse:
    _managed(request)
    try:
        invitation = invitations.invitation_withdraw(actor=request.user, invitation_id=invitation_id)
    except staff.NotManaged as refused:
        raise Http404 from refused
    except staff.StaffChangeRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            _("The invitation to %(email)s is withdrawn: its link no longer works.") % {"email": invitation.email},
        )
    return redirect("accounts:staff")


@login_required
@require_http_methods(["GET", "POST"])
def staff_access(request: AuthenticatedRequest, code: str, user_id: int, verb: str) -> HttpResponse:
    """Suspend or resume a person's access in a department: a page to confirm, then the POST."""
    department = get_object_or_404(_managed(request), code=code)
    try:
        person = staff.staff_member(actor=request.user, department=department, user_id=user_id)
    except staff.NotManaged as refused:
        raise Http404 from refused
    if request.method == "GET":
        roles = Membership.all_objects.filter(user=person, department=department).order_by("role")
        context = {"person": person, "department": department, "verb": verb, "roles": roles}
        return render(request, "accounts/staff_access.html", context)
    change = staff.staff_suspend if verb == "suspend" else staff.staff_resume
    try:
        change(actor=request.user, department=department, user_id=user_id)
    except staff.StaffChangeRefused as refused:
        messages.error(request, refused.message)
    else:
        done = (
            _("%(name)s's access in %(department)s is suspended.")
            if verb == "suspend"
            else _("%(name)s's access in %(department)s is resumed.")
        )
        messages.success(request, done % {"name": person.name, "department": department.name})
    return redirect("accounts:staff")


# --- An invitation's link -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the e-mail. Only a POST accepts (mail scanners only GET)."""
    try:
        invitation = invitations.invitation_for_token(token)
    except Invitation.DoesNotExist:
        return render(request, "accounts/invitation_gone.html", {"message": None}, status=404)
    except invitations.InvitationGone as gone:
        return render(request, "accounts/invitation_gone.html", {"message": gone.message}, status=410)
    context: dict = {"invitation": invitation}
    if request.user.is_authenticated:
        user = cast(User, request.user)
        if user.email.lower() != invitation.email.lower():
            logger.info("invitation opened by another account user=%s invitation=%s", user.pk, invitation.pk)
            return render(request, "accounts/invitation.html", {**context, "mode": "other_account"}, status=403)
        if request.method == "POST":
            try:
                membership = invitations.invitation_accept(token=token, user=user)
            except invitations.InvitationGone as gone:
                return render(request, "accounts/invitation_gone.html", {"message": gone.message}, status=410)
            messages.success(
                request,
                _("You are now %(role)s in %(department)s.")
                % {"role": membership.get_role_display(), "department": membership.department.name},
            )
            return redirect("workflows:workbench" if membership.role != Role.COUNTER_CLERK else "portal:home")
        return render(request, "accounts/invitation.html", {**context, "mode": "accept"})
    if invitations.account_for(invitation) is not None:
        login_url = f"{reverse('accounts:login')}?{urlencode({'next': request.path})}"
        return render(request, "accounts/invitation.html", {**context, "mode": "sign_in", "login_url": login_url})
    form = InvitationAccountForm(
        request.POST if request.method == "POST" else None, email=invitation.email, name=invitation.name
    )
    if request.method == "POST" and form.is_valid():
        try:
            person = invitations.invitation_accept_new_account(
                token=token, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
            )
        except invitations.InvitationGone as gone:
            return render(request, "accounts/invitation_gone.html", {"message": gone.message}, status=410)
        except invitations.InvitationRefused as refused:
            messages.error(request, refused.message)
            return redirect("accounts:invitation", token=token)
        login(request, person, backend="accounts.backends.UsernameOrEmailBackend")
        sign_in_record(request=request, user=person)
        assurance_record(request, method=Method.PASSWORD)
        messages.success(
            request,
            _("Your account has been created and you are signed in. You are now %(role)s in %(department)s.")
            % {"role": invitation.get_role_display(), "department": invitation.department.name},
        )
        return redirect("portal:home")
    return render(
        request,
        "accounts/invitation.html",
        {**context, "mode": "new_account", "form": form},
        status=400 if form.errors else 200,
    )

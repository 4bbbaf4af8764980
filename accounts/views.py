from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import staff
from accounts.actions import user_register
from accounts.assurance import Method, assurance_record
from accounts.email_verification import email_verification_send
from accounts.forms import RegistrationForm, SignInForm
from accounts.models import Department, Membership, MembershipChange, Role
from accounts.requests import AuthenticatedRequest
from accounts.second_factor.gate import PENDING_KEY
from accounts.second_factor.selectors import has_second_factor
from accounts.selectors import identity_checked_in_person
from accounts.sessions import sign_in_record


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
    return render(request, "accounts/register.html", {"form": form}, status=400 if form.errors else 200)


class SignInView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

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


@login_required
@require_GET
def staff_list(request: AuthenticatedRequest) -> HttpResponse:
    departments = list(_managed(request))
    memberships = (
        Membership.objects.filter(department__in=departments)
        .select_related("user", "department")
        .order_by("department__code", "user__display_name", "user__username", "role")
    )
    by_department: dict[int, list[Membership]] = {department.pk: [] for department in departments}
    for membership in memberships:
        by_department[membership.department_id].append(membership)
    changes = MembershipChange.objects.filter(department__in=departments).select_related("actor", "user", "department")[
        :50
    ]
    context = {
        "sections": [(department, by_department[department.pk]) for department in departments],
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
    except staff.StaffChangeRefused as refused:
        if not Membership.objects.filter(pk=membership_id, department__in=_managed(request)).exists():
            raise Http404 from refused  # not theirs to see
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

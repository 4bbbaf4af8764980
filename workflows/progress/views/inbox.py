"""The in-app inbox and the choice of notification channels."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import verified_value
from workflows.models import Notification, NotificationPreference
from workflows.progress import selectors
from workflows.progress.actions import (
    notification_mark_read,
    notification_preference_set,
    notifications_mark_all_read,
)
from workflows.progress.forms import NotificationPreferenceForm
from workflows.progress.views import me

PAGE_SIZE = 20


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notifications_for(user=me(request)), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "workflows/progress/inbox.html", {"page": page})


@login_required
@require_GET
def message(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Opening a message marks it read, as opening a letter does."""
    try:
        notification = notification_mark_read(user=me(request), notification_id=notification_id)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc
    return render(request, "workflows/progress/message.html", {"notification": notification})


@login_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_all_read(user=me(request))
    if count:
        messages.success(request, _("All messages are marked as read."))
    return redirect("workflows:progress-inbox")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    current = NotificationPreference.objects.filter(user=me(request)).first()
    initial: dict[str, object] = {
        "email": current.email if current else True,
        "sms": current.sms if current else False,
        # The verified phone number, until the person chooses another one here.
        "phone": (current.phone if current else "")
        or verified_value(user=me(request), element_key="person.phone")
        or "",
    }
    form = NotificationPreferenceForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            notification_preference_set(
                user=me(request),
                email=form.cleaned_data["email"],
                sms=form.cleaned_data["sms"],
                phone=form.cleaned_data["phone"] or "",
            )
            messages.success(request, _("Your notification choices are saved."))
            return redirect("workflows:progress-preferences")
        return render(request, "workflows/progress/preferences.html", {"form": form}, status=400)
    return render(request, "workflows/progress/preferences.html", {"form": form})

from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, object]:
    """Navigation facts every page needs: which menus the signed-in person sees."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_roles": frozenset()}
    return {"nav_roles": user.nav_roles()}

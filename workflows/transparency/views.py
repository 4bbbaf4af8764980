"""The public face of the transparency log: JSON anyone may fetch without signing in, and the
latest checkpoint as a plain signed note (what witnesses and Go's note tools read)."""

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from lib.merkle import ProofError
from workflows.models import Checkpoint
from workflows.transparency import keys, proofs
from workflows.transparency.proofs import ProofRefused, b64, checkpoint_document
from workflows.transparency.unavailable import answers_when_log_key_unavailable

HISTORY_PAGE_SIZE = 100


def _refusal(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


def _whole(request: HttpRequest, name: str, *, required: bool) -> int | None:
    text = request.GET.get(name, "").strip()
    if not text:
        if required:
            raise ProofRefused(_("Give %(name)s as a whole number.") % {"name": name})
        return None
    if not text.isdigit() or len(text) > 18:
        raise ProofRefused(
            _("%(name)s must be a whole number of 0 or more, not %(text)r.") % {"name": name, "text": text[:30]}
        )
    return int(text)


@require_GET
@answers_when_log_key_unavailable()
def index(request: HttpRequest) -> JsonResponse:
    latest = Checkpoint.objects.order_by("-id").first()
    return JsonResponse(
        {
            "origin": keys.log_origin(),
            "verifier_keys": [v.text for v in keys.log_verifiers()],
            "tree_size": proofs.tree_size(),
            "checkpoint": checkpoint_document(latest) if latest else None,
            "links": {
                "checkpoint": request.build_absolute_uri(reverse("workflows:transparency-checkpoint")),
                "history": request.build_absolute_uri(reverse("workflows:transparency-history")),
                "inclusion_proof": request.build_absolute_uri(reverse("workflows:transparency-inclusion"))
                + "?index={index}&size={size}",
                "consistency_proof": request.build_absolute_uri(reverse("workflows:transparency-consistency"))
                + "?first={first}&second={second}",
            },
        }
    )


@require_GET
def checkpoint(request: HttpRequest) -> HttpResponse:
    latest = Checkpoint.objects.order_by("-id").first()
    if latest is None:
        return HttpResponse(
            _("No checkpoint has been signed yet.\n"), status=404, content_type="text/plain; charset=utf-8"
        )
    return HttpResponse(latest.note, content_type="text/plain; charset=utf-8")


@require_GET
def history(request: HttpRequest) -> JsonResponse:
    """Every signed checkpoint, newest first, HISTORY_PAGE_SIZE per page."""
    paginator = Paginator(Checkpoint.objects.order_by("-id"), HISTORY_PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        return _refusal(_("page must be a whole number."))
    except EmptyPage:
        return _refusal(
            _("There is no such page: pages run from 1 to %(pages)s.") % {"pages": paginator.num_pages}, 404
        )
    base = request.build_absolute_uri(reverse("workflows:transparency-history"))
    return JsonResponse(
        {
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "next": f"{base}?page={page.next_page_number()}" if page.has_next() else None,
            "previous": f"{base}?page={page.previous_page_number()}" if page.has_previous() else None,
            "results": [checkpoint_document(c) for c in page.object_list],
        }
    )


@require_GET
def inclusion(request: HttpRequest) -> JsonResponse:
    try:
        index = _whole(request, "index", required=True)
        assert index is not None
        proof = proofs.inclusion_proof(index=index, size=_whole(request, "size", required=False))
    except ProofRefused as refusal:
        return _refusal(refusal.message)
    signed = proofs.checkpoint_at(proof.size)
    return JsonResponse(
        {
            "leaf_index": proof.index,
            "tree_size": proof.size,
            "leaf_hash": b64(proof.leaf_hash),
            "inclusion_proof": [b64(h) for h in proof.path],
            "checkpoint": signed.note if signed else None,
        }
    )


@require_GET
def consistency(request: HttpRequest) -> JsonResponse:
    try:
        first = _whole(request, "first", required=True)
        assert first is not None
        second = _whole(request, "second", required=False)
        path = proofs.consistency_proof(first=first, second=second)
        second = second if second is not None else proofs.latest_checkpoint_size()
    except ProofRefused as refusal:
        return _refusal(refusal.message)
    except ProofError as error:
        return _refusal(str(error))
    return JsonResponse({"first": first, "second": second, "consistency_proof": [b64(h) for h in path]})

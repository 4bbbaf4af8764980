"""Who owns a document: a person, or an organisation whose representatives share its vault;
and two simultaneous uploads of the same bytes still store one document."""

import threading

import pytest
from django.db import connection
from django.http import Http404

from accounts.tests.factories import OrganisationFactory
from documents.actions import document_upload
from documents.models import Document
from documents.selectors import document_for_user, documents_for_user
from documents.tests.conftest import make_pdf, upload


@pytest.mark.django_db
def test_an_organisations_document_is_shared_by_its_representatives_only(alice, bob, lease_type):
    from accounts.tests.factories import UserFactory

    colleague = UserFactory(username="colleague")
    restaurant = OrganisationFactory(name="Golden Dumpling")
    restaurant.representatives.add(alice, colleague)
    document = document_upload(
        owner=alice, document_type=lease_type, uploaded_file=upload("lease.pdf", make_pdf()), organisation=restaurant
    )
    assert document.owner is None and document.owner_organisation == restaurant
    assert document_for_user(user=colleague, document_id=document.pk) == document
    assert list(documents_for_user(user=alice)) == [document]
    with pytest.raises(Http404):
        document_for_user(user=bob, document_id=document.pk)
    assert not documents_for_user(user=bob).exists()


@pytest.mark.django_db
def test_only_a_representative_may_upload_for_an_organisation(bob, lease_type):
    restaurant = OrganisationFactory()
    with pytest.raises(Http404):
        document_upload(
            owner=bob, document_type=lease_type, uploaded_file=upload("x.pdf", make_pdf()), organisation=restaurant
        )
    assert not Document.objects.exists()


@pytest.mark.parametrize("document_id", ["abc", "", None, "1 OR 1=1", 10**12])
@pytest.mark.django_db
def test_a_malformed_or_unknown_id_is_404(alice, document_id):
    with pytest.raises(Http404):
        document_for_user(user=alice, document_id=document_id)


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_uploads_of_the_same_bytes_store_one_document(alice, lease_type):
    content = make_pdf("raced")
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def upload_once(name: str) -> None:
        try:
            barrier.wait()
            document = document_upload(owner=alice, document_type=lease_type, uploaded_file=upload(name, content))
            results.append(document.pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload_once, args=(f"copy{n}.pdf",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert Document.objects.filter(owner=alice).count() == 1

"""OutputSerializer writes what DRF's Serializer writes, with fields of each instance its own."""

import datetime
import threading
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers

from lib.serializers import OutputSerializer


class Line(OutputSerializer):
    code = serializers.CharField(source="item.code")
    at = serializers.DateTimeField()


class Receipt(OutputSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_null=True)
    status = serializers.SerializerMethodField()
    data = serializers.JSONField()
    when = serializers.DateField(allow_null=True)
    lines = Line(many=True)

    def get_status(self, receipt) -> str:
        return f"{self.context.get('prefix', '')}{'open' if receipt.open else 'closed'}"


class DeepReceipt(Receipt):
    """The same fields as DRF builds them: deep copies."""

    def get_fields(self):
        return serializers.Serializer.get_fields(self)


def receipt(pk: int, name: str | None = "A", *, open_: bool = True, lines: int = 2) -> SimpleNamespace:
    at = datetime.datetime(2026, 12, 6, 8, 30, tzinfo=datetime.UTC)
    return SimpleNamespace(
        id=pk,
        name=name,
        open=open_,
        data={"k": [pk, name]},
        when=datetime.date(2026, 12, 6),
        lines=[SimpleNamespace(item=SimpleNamespace(code=f"c{i}"), at=at) for i in range(lines)],
    )


@given(
    pk=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    name=st.one_of(st.none(), st.text()),
    open_=st.booleans(),
)
def test_it_writes_what_drf_writes(pk, name, open_):
    one = receipt(pk, name, open_=open_)
    assert Receipt(one, context={"prefix": "x-"}).data == DeepReceipt(one, context={"prefix": "x-"}).data
    assert Receipt([one, one], many=True).data == DeepReceipt([one, one], many=True).data


def test_each_instance_binds_its_own_fields_and_the_declared_ones_stay_unbound():
    first, second = Receipt(receipt(1)), Receipt(receipt(2, open_=False))
    assert first.data["status"] == "open" and second.data["status"] == "closed"
    for name in ("id", "status", "lines"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert Receipt._declared_fields[name].parent is None  # type: ignore[attr-defined]
    assert first.fields["status"].method_name == "get_status"


def test_instances_in_threads_at_once_each_write_their_own():
    results: dict[int, dict] = {}

    def write(pk: int) -> None:
        for _ in range(200):
            data = Receipt(receipt(pk, str(pk), open_=pk % 2 == 0, lines=pk % 3)).data
            if data["id"] != pk or data["name"] != str(pk) or len(data["lines"]) != pk % 3:
                results[pk] = dict(data)
                return
        results.setdefault(pk, {})

    threads = [threading.Thread(target=write, args=(pk,)) for pk in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {pk: {} for pk in range(8)}

"""Read-only catalogue API. The catalogue is public: anyone may read it, signed in or not."""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from accounts.assurance import Level
from services import selectors
from services.models import DataElement, DocumentType, FormField, LifeEvent, MaterialRequirement, Service
from services.routes import KINDS, parse_route


class DepartmentOutput(serializers.Serializer):
    code = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()


class DataElementOutput(serializers.ModelSerializer):
    class Meta:
        model = DataElement
        fields = (
            "key",
            "kind",
            "label_en",
            "label_zh",
            "help_en",
            "help_zh",
            "min_length",
            "max_length",
            "min_value",
            "max_value",
            "pattern",
            "choices",
            "sensitivity",
        )


class DocumentTypeOutput(serializers.ModelSerializer):
    class Meta:
        model = DocumentType
        fields = (
            "code",
            "name_en",
            "name_zh",
            "allowed_content_types",
            "max_bytes",
            "max_pages",
            "max_image_side",
            "validity_days",
        )


class FormFieldOutput(serializers.ModelSerializer):
    element = serializers.CharField(source="element.key")
    kind = serializers.CharField(source="element.kind")

    class Meta:
        model = FormField
        fields = ("element", "kind", "section_en", "section_zh", "required", "when", "order")


class MaterialOutput(serializers.ModelSerializer):
    document_type = serializers.CharField(source="document_type.code")

    class Meta:
        model = MaterialRequirement
        fields = ("document_type", "required", "when", "order")


class FeeOutput(serializers.Serializer):
    label_en = serializers.CharField()
    label_zh = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    per_unit = serializers.CharField()
    exempt_when = serializers.JSONField(allow_null=True)


class RouteStepOutput(serializers.Serializer):
    key = serializers.CharField()
    department = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(KINDS))
    after = serializers.ListField(child=serializers.CharField())
    when = serializers.JSONField(allow_null=True)
    sla_days = serializers.IntegerField(allow_null=True)
    handler = serializers.CharField(allow_null=True)
    document_type = serializers.CharField(allow_null=True)
    on_reject = serializers.CharField()
    label_en = serializers.CharField()
    label_zh = serializers.CharField()


class EligibilityRuleOutput(serializers.Serializer):
    when = serializers.JSONField()
    reason_en = serializers.CharField()
    reason_zh = serializers.CharField(required=False)


class VersionOutput(serializers.Serializer):
    number = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    time_limit_days = serializers.IntegerField()
    minimum_assurance = serializers.ChoiceField(
        choices=Level.choices, help_text="The sign-in level needed to submit (low, substantial, high)."
    )
    eligibility = EligibilityRuleOutput(many=True)
    form = FormFieldOutput(many=True, source="fields.all")
    materials = MaterialOutput(many=True, source="materials.all")
    fees = FeeOutput(many=True, source="fees.all")
    route = serializers.SerializerMethodField()

    @extend_schema_field(RouteStepOutput(many=True))
    def get_route(self, version) -> list[dict[str, Any]]:
        return list(RouteStepOutput(parse_route(version.route), many=True).data)


class ServiceOutput(serializers.ModelSerializer):
    lead_department = DepartmentOutput()

    class Meta:
        model = Service
        fields = (
            "code",
            "name_en",
            "name_zh",
            "summary_en",
            "summary_zh",
            "category",
            "life_situations",
            "online",
            "at_counter",
            "lead_department",
        )


class ServiceDetailOutput(ServiceOutput):
    current_version = serializers.SerializerMethodField()

    class Meta(ServiceOutput.Meta):
        fields = (*ServiceOutput.Meta.fields, "current_version")  # type: ignore[assignment]

    @extend_schema_field(VersionOutput(allow_null=True))
    def get_current_version(self, service) -> dict[str, Any] | None:
        version = selectors.current_version(service)
        return VersionOutput(version).data if version else None


class LifeEventOutput(serializers.ModelSerializer):
    services = serializers.SerializerMethodField()

    class Meta:
        model = LifeEvent
        fields = ("code", "name_en", "name_zh", "summary_en", "summary_zh", "services")

    def get_services(self, life_event) -> list[str]:
        return [entry.service.code for entry in life_event.entries.all()]


@extend_schema(tags=["catalogue"])
class ServiceListApi(generics.ListAPIView):
    """Published services. `?q=` searches names, summaries and tags, in English or Chinese."""

    permission_classes = [AllowAny]
    serializer_class = ServiceOutput

    def get_queryset(self):
        query = self.request.query_params.get("q", "").strip()[:100]
        # A search is a list, best match first; without one, the catalogue's order.
        return selectors.search_services(query) if query else selectors.published_services()


@extend_schema(tags=["catalogue"])
class ServiceDetailApi(generics.RetrieveAPIView):
    """One published service with its current version: form, materials, fees, eligibility and route."""

    permission_classes = [AllowAny]
    serializer_class = ServiceDetailOutput

    def get_object(self):
        service = selectors.service_by_code(self.kwargs["code"])
        if service is None:
            raise Http404
        return service


@extend_schema(tags=["catalogue"])
class LifeEventListApi(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = LifeEventOutput

    def get_queryset(self):
        return selectors.life_events()


@extend_schema(tags=["catalogue"])
class LifeEventDetailApi(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = LifeEventOutput
    lookup_field = "code"

    def get_queryset(self):
        return selectors.life_events()


@extend_schema(tags=["catalogue"])
class DataElementListApi(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = DataElementOutput
    queryset = DataElement.objects.all()


@extend_schema(tags=["catalogue"])
class DataElementDetailApi(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = DataElementOutput
    queryset = DataElement.objects.all()
    lookup_field = "key"


@extend_schema(tags=["catalogue"])
class DocumentTypeListApi(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = DocumentTypeOutput
    queryset = DocumentType.objects.all()

import factory
from factory.django import DjangoModelFactory

from accounts.models import Department, Membership, Organisation, Role, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    display_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class DepartmentFactory(DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept{n}")
    short_code = factory.Sequence(lambda n: f"D{n:03d}"[:6])
    name_en = factory.LazyAttribute(lambda o: f"Department {o.code}")
    name_zh = factory.LazyAttribute(lambda o: f"部门 {o.code}")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory, is_staff=True)
    department = factory.SubFactory(DepartmentFactory)
    role = Role.CLERK


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Faker("company")
    registration_number = factory.Sequence(lambda n: f"91110000{n:010d}")

from payments.tests.support import simulator  # noqa: F401  (fixture)

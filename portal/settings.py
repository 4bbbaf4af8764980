"""One Door settings, read from the environment.

Three profiles share this file:
- development (default): SQLite under var/, Celery tasks run in-process, console e-mail;
- with DATABASE_URL / REDIS_URL: PostgreSQL and the Redis broker (or RabbitMQ with BROKER_URL), a separate
  worker and beat;
- production (PORTAL_ENV=production): secrets from the environment, HTTPS-only cookies, HSTS.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

PORTAL_ENV = env("PORTAL_ENV", default="development")
PRODUCTION = PORTAL_ENV == "production"

if PRODUCTION:
    SECRET_KEY = env("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env("SECRET_KEY", default="development-only-key-not-for-production-use-0123456789abcdef")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
DEBUG = env.bool("DEBUG", default=False)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "guardian",
    "axes",
    "csp",
    "django_htmx",
    # Second factors: TOTP, recovery codes and passkeys (accounts/second_factor/).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "accounts",
    "services",
    "documents",
    "workflows",
    "appointments",
    "payments",
    "portal",
]

MIDDLEWARE = [
    # First: every log line has the request id, every response its X-Request-ID; then the
    # request metrics (portal/metrics.py), which time everything below.
    "portal.request_context.RequestContextMiddleware",
    "portal.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Above everything that may query: a response made when a middleware below fails (the 503
    # of a database that went away) still carries the frame and content policies.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # A database that went away is answered 503 with Retry-After, never 500 (portal/database_down.py).
    "portal.database_down.DatabaseDownMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, taking the person the session's read brought with it (accounts/session_store.py).
    "accounts.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    # Logs 401/403/404 answered to signed-in people by non-public views (after authentication).
    "portal.security.failures.FailedAuthorisationLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Staff areas need a second factor confirmed in this session (accounts/second_factor/gate.py).
    "accounts.second_factor.gate.SecondFactorGateMiddleware",
    # Axes must come last: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
                "portal.context_processors.inbox",
                "portal.context_processors.acting_for",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env.bool("DB_JIT", default=False):
        # PostgreSQL's JIT compiles a statement the planner thinks is costly; for ours (short
        # reads by index, and the dashboard's counts every few seconds) the compiling costs more
        # than it saves: 583 ms of the 1,047 ms the live counters' "ahead" count took at ten
        # million applications (docs/benchmarks.md). DB_JIT=true leaves it on.
        db_options = DATABASES["default"].setdefault("OPTIONS", {})
        db_options["options"] = f"{db_options.get('options', '')} -c jit=off".strip()
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # psycopg 3 binds parameters on the server, so a statement a connection runs a few times
        # (DB_PREPARE_THRESHOLD, psycopg's default 5) is prepared there and planned once per
        # connection instead of once per run: half of PostgreSQL's CPU per application went to
        # parsing and planning the same statements (docs/benchmarks.md, "prepared statements").
        # DB_SERVER_SIDE_BINDING=false sends SQL with the values inlined, as psycopg2 did (for a
        # pooler in transaction mode older than PgBouncer 1.21, which cannot keep prepared
        # statements).
        db_options = DATABASES["default"].setdefault("OPTIONS", {})
        db_options["server_side_binding"] = env.bool("DB_SERVER_SIDE_BINDING", default=True)
        db_options["prepare_threshold"] = env.int("DB_PREPARE_THRESHOLD", default=5)
        # Django's backend, with the health check above asking the connection's socket instead
        # of running SELECT 1 on the server for every request and task (lib/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "lib.postgresql"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default has no nulls-not-distinct unique constraint (the dashboard rollups' key)
    # nor covering indexes; both are PostgreSQL refinements, and the rollup refresh runs one at a
    # time under its state row's lock, so the embedded portal works without them.
    SILENCED_SYSTEM_CHECKS = ["models.W040", "models.W047"]
if env("PORTAL_TEST_DB_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env("PORTAL_TEST_DB_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Identity -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.UsernameOrEmailBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# A password reset link works once, for 30 minutes.
PASSWORD_RESET_TIMEOUT = 30 * 60

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

# Sessions: absolute lifetime from sign-in and an idle limit, both enforced server-side by
# accounts.middleware (the cookie age alone moves forward whenever the session is saved).
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 3600)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
# Django's database sessions in our own table (accounts.Session), each read with its person in
# one compiled statement (accounts/session_store.py).
SESSION_ENGINE = "accounts.session_store"
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# django-axes: lock a user name from one address after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_ENABLE_ACCESS_FAILURE_LOG = False

# django-guardian: no anonymous-user row; grants are for explicit objects only.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# --- Language -----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
# Our own date formats: "27 November 2026" in English, "2026年11月27日" in Chinese.
FORMAT_MODULE_PATH = ["portal.formats"]
USE_TZ = True

# --- Static and private files -------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Outside production, whitenoise serves straight from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
# Private documents live outside any public root and are served only by a permission-checked view.
PRIVATE_STORAGE_ROOT = Path(env("PRIVATE_STORAGE_ROOT", default=str(VAR_DIR / "private")))
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media-not-served/"
# "stream" (development), "x-accel-redirect" (nginx) or "x-sendfile" (Apache).
PRIVATE_DOWNLOAD_MODE = env("PRIVATE_DOWNLOAD_MODE", default="stream")
PRIVATE_DOWNLOAD_PREFIX = env("PRIVATE_DOWNLOAD_PREFIX", default="/protected/")
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
CLAMD_SOCKET = env("CLAMD_SOCKET", default="")
CLAMD_HOST = env("CLAMD_HOST", default="")
CLAMD_PORT = env.int("CLAMD_PORT", default=3310)
CLAMD_TIMEOUT = env.int("CLAMD_TIMEOUT", default=30)
# Uploads fail closed: where scanning is required (production) and no scanner is configured,
# uploads are refused (503) and `check --deploy` reports documents.E001. Elsewhere files are
# stored as "not yet checked for viruses" and staff cannot open them (docs/hardening.md §4).
DOCUMENT_SCAN_REQUIRED = env.bool("DOCUMENT_SCAN_REQUIRED", default=PRODUCTION)
# Content disarm (documents/disarm/): the portal-wide ceilings; each document type may set lower ones.
PDF_MAX_PAGES = env.int("PDF_MAX_PAGES", default=500)
PDF_MAX_UNPACKED_BYTES = env.int("PDF_MAX_UNPACKED_BYTES", default=50 * 1024 * 1024)
IMAGE_MAX_SIDE = env.int("IMAGE_MAX_SIDE", default=10_000)
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=40_000_000)
# The originals as uploaded are kept sealed (Fernet) for evidence and never served. Production:
# a key from `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`;
# several, comma-separated, to rotate (the first seals, all open). Elsewhere a key is made under var/.
DOCUMENT_ORIGINALS_KEYS = env.list("DOCUMENT_ORIGINALS_KEYS", default=[])
DOCUMENT_ORIGINALS_KEY_FILE = Path(env("DOCUMENT_ORIGINALS_KEY_FILE", default=str(VAR_DIR / "originals.key")))
# Where the public /verify/<code> page lives; printed as a QR code on every certificate.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env('PORT', default='8000')}")

# --- Signed certificates (documents/signing, docs/certificates.md) --------------------------
# The signature backend: PAdES B-LT with pyHanko unless a national profile is configured.
CERTIFICATE_SIGNER = env("CERTIFICATE_SIGNER", default="documents.signing.pades.PadesSigner")
# Production: the issuing CAs (below), the roots validators trust (PEM files) and an RFC 3161
# timestamp authority. Without them, development and tests use the local test PKI built under
# var/ (never trusted anywhere else; its department CA keys on the token if a module is set);
# production then refuses to sign, so issue steps wait (retry, then an incident) until it is
# configured.
# The issuing CA keys, one per department. On a PKCS#11 token (an HSM) when a module is set:
# the department's key and its CA certificate carry the label SIGNING_PKCS11_KEY_LABEL with
# {department} replaced by the department's code; the PIN comes from SIGNING_PKCS11_PIN or,
# better, a file. Else PKCS#12 bundles: SIGNING_ISSUER_BUNDLE, one per department when the path
# contains {department} (one shared CA otherwise).
SIGNING_PKCS11_MODULE = env("SIGNING_PKCS11_MODULE", default="")
SIGNING_PKCS11_TOKEN = env("SIGNING_PKCS11_TOKEN", default="onedoor")
SIGNING_PKCS11_PIN = env("SIGNING_PKCS11_PIN", default="")
SIGNING_PKCS11_PIN_FILE = env("SIGNING_PKCS11_PIN_FILE", default="")
SIGNING_PKCS11_KEY_LABEL = env("SIGNING_PKCS11_KEY_LABEL", default="onedoor-{department}")
SIGNING_ISSUER_BUNDLE = env("SIGNING_ISSUER_BUNDLE", default="")
SIGNING_ISSUER_PASSPHRASE = env("SIGNING_ISSUER_PASSPHRASE", default="")
SIGNING_TRUST_ROOTS = env.list("SIGNING_TRUST_ROOTS", default=[])
SIGNING_TSA_URL = env("SIGNING_TSA_URL", default="")
SIGNING_TSA_TIMEOUT = env.int("SIGNING_TSA_TIMEOUT", default=10)
SIGNING_ORGANISATION = env("SIGNING_ORGANISATION", default="One Door")
SIGNING_LOCAL_PKI = env.bool("SIGNING_LOCAL_PKI", default=not PRODUCTION)
SIGNING_LOCAL_PKI_DIR = Path(
    env("SIGNING_LOCAL_PKI_DIR", default=str(VAR_DIR / ("test-pki" if PORTAL_ENV == "test" else "pki")))
)
# Uploads to /verify/ a stranger may make per address and hour (each costs a signature check).
VERIFY_UPLOADS_PER_HOUR = env.int("VERIFY_UPLOADS_PER_HOUR", default=60)

DRAFT_PURGE_DAYS = env.int("DRAFT_PURGE_DAYS", default=30)
DRAFT_REMINDER_DAYS = env.int("DRAFT_REMINDER_DAYS", default=5)

# --- Celery (DESIGN §5) -------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# The broker: Redis (REDIS_URL) by default; BROKER_URL=amqp://user:password@host:5672/vhost
# selects RabbitMQ (docs/operations.md), Redis then stays the cache.
BROKER_URL = env("BROKER_URL", default="") or REDIS_URL
CELERY_BROKER_URL = BROKER_URL or "memory://"
BROKER_IS_RABBITMQ = CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://"))
# The cache: with Redis, one for every process (web, worker), so rate limits (accounts/limits.py)
# count across them; a key prefix keeps its keys apart from the broker's in the same database
# (CACHE_URL may name another Redis). Without Redis, the embedded profile keeps the process's
# own memory.
CACHE_URL = env("CACHE_URL", default="") or REDIS_URL
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "lib.cache.PrefixedRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "onedoor-test" if PORTAL_ENV == "test" else "onedoor",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Without a broker the embedded mode runs every task in-process. Tests run tasks in-process
# too unless they start a real worker (tests/conftest.py), which switches this off.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not BROKER_URL or PORTAL_ENV == "test")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task's database connection lives as a request's does (CONN_MAX_AGE, health checks:
# portal/celery.py closes what is broken or too old around each task). Celery's own Django
# fixup would close it before and after every task, so each task would connect anew (a
# PostgreSQL backend forked and its caches and prepared statements lost: ~2 per application);
# with this it closes them only every so many tasks, as a backstop.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Time limits well below the visibility timeout, so a task never runs twice because it was slow.
CELERY_TASK_TIME_LIMIT = min(300, CELERY_BROKER_VISIBILITY_TIMEOUT // 4)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30 if CELERY_TASK_TIME_LIMIT > 60 else CELERY_TASK_TIME_LIMIT - 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_CREATE_MISSING_QUEUES = True
# RabbitMQ (Celery's own setting names; tests apply the same to a producer they point at one):
# - quorum queues, replicated and durable, which give an unacknowledged message back as soon as
#   its consumer's connection drops (a worker killed with -9: redelivered in seconds, not after
#   a visibility timeout);
# - publisher confirms: a send returns once the broker has the message, so an outbox row is
#   never marked sent for a message the broker dropped;
# - topic exchanges, so a retry's countdown waits in RabbitMQ (Celery's native delayed delivery
#   for quorum queues) instead of in a worker's memory;
# - a task still running when its worker loses the broker is cancelled: the broker has already
#   given its message to another worker.
# The queues and their routing are Redis's: `default`, `transparency` and one `dept.<code>` each.
RABBITMQ_CELERY_OPTIONS: dict[str, object] = {
    "broker_transport_options": {"confirm_publish": True},
    "task_default_queue_type": "quorum",
    "task_create_missing_queue_type": "quorum",
    "task_default_exchange_type": "topic",
    "task_create_missing_queue_exchange_type": "topic",
    "worker_cancel_long_running_tasks_on_connection_loss": True,
}
if BROKER_IS_RABBITMQ:
    # config_from_object reads these as CELERY_<NAME>.
    globals().update({f"CELERY_{name.upper()}": value for name, value in RABBITMQ_CELERY_OPTIONS.items()})
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE
# The one beat (DESIGN §5): the outbox relay, the timer sweep and the recovery of stalled steps.
# `manage.py run_periodic` runs the same sweeps in-process in the embedded mode (no beat).
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "outbox-relay": {"task": "workflows.outbox_relay", "schedule": 10.0},
    "timers-fire": {"task": "workflows.timers_fire", "schedule": 30.0},
    "steps-recover": {"task": "workflows.steps_recover", "schedule": 30.0},
}
# Drafts untouched for DRAFT_PURGE_DAYS are deleted, with an e-mail DRAFT_REMINDER_DAYS before.
CELERY_BEAT_SCHEDULE["drafts-purge"] = {"task": "workflows.apply.drafts_purge", "schedule": 3600.0}
# Retention (docs/privacy.md): once a day, finished applications past their service's retention
# lose their answers and documents; downloads of "my data" older than seven days are deleted.
CELERY_BEAT_SCHEDULE["retention-sweep"] = {
    "task": "workflows.privacy.retention_sweep",
    "schedule": 86400.0,
}
# Appointments (docs/appointments.md): reminders the day before, seats of ended steps given back.
CELERY_BEAT_SCHEDULE["appointments-sweep"] = {"task": "appointments.sweep", "schedule": 900.0}
CELERY_BEAT_SCHEDULE["data-exports-expire"] = {"task": "workflows.privacy.exports_expire", "schedule": 3600.0}

# --- Supervision dashboard rollups (workflows/progress/rollups.py) ---------------------------
# The period figures are rolled up per day, department and service by a task every few
# seconds; once a day every rollup is compared with the raw data (drift is logged, counted on
# /metrics and repaired).
DASHBOARD_ROLLUP_INTERVAL_SECONDS = env.float("DASHBOARD_ROLLUP_INTERVAL_SECONDS", default=5.0)
# Days touched by events of the last this-many seconds are recomputed on every run, so a
# transaction that commits after a run has passed its event's id is still counted.
DASHBOARD_ROLLUP_OVERLAP_SECONDS = env.int("DASHBOARD_ROLLUP_OVERLAP_SECONDS", default=120)
CELERY_BEAT_SCHEDULE["dashboard-rollups-refresh"] = {
    "task": "workflows.progress.rollups_refresh",
    "schedule": DASHBOARD_ROLLUP_INTERVAL_SECONDS,
    "options": {"expires": 30},
}
CELERY_BEAT_SCHEDULE["dashboard-rollups-check"] = {"task": "workflows.progress.rollups_check", "schedule": 86400.0}

# --- Payments (docs/payments.md) -------------------------------------------------------------
# The provider in use, and how to reach the payment provider simulator (payments/simulator/),
# which `make run` starts next to the portal. The webhook secret is shared with the provider.
PAYMENT_PROVIDER = env("PAYMENT_PROVIDER", default="simulator")
PAYMENT_SIMULATOR_URL = env("PAYMENT_SIMULATOR_URL", default="http://127.0.0.1:8010")
PAYMENT_WEBHOOK_SECRET = env("PAYMENT_WEBHOOK_SECRET", default="" if PRODUCTION else "simulator-webhook-secret")
# Payments abandoned for 90 minutes are given up (asking the provider first); the day before is
# reconciled with the provider's report once a day.
CELERY_BEAT_SCHEDULE["payments-expire"] = {"task": "payments.expire", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {"task": "payments.reconcile", "schedule": 86400.0}

# --- Transparency log (docs/transparency.md) -------------------------------------------------
# The sequencer adds committed events and access records to the log every few seconds, on its
# own queue, and signs a checkpoint per batch.
CELERY_BEAT_SCHEDULE["transparency-integrate"] = {
    "task": "workflows.transparency.integrate",
    "schedule": env.float("TRANSPARENCY_INTERVAL_SECONDS", default=3.0),
    "options": {"queue": "transparency", "expires": 30},
}
CELERY_TASK_ROUTES = {"workflows.transparency.integrate": {"queue": "transparency"}}
TRANSPARENCY_BATCH_SIZE = env.int("TRANSPARENCY_BATCH_SIZE", default=5000)
# One task run integrates batches for at most this long (the next beat tick continues).
TRANSPARENCY_MAX_RUN_SECONDS = env.float("TRANSPARENCY_MAX_RUN_SECONDS", default=20.0)
# The log's name in its checkpoints (a schema-less URL, by convention where it is served).
TRANSPARENCY_LOG_ORIGIN = env(
    "TRANSPARENCY_LOG_ORIGIN", default=PUBLIC_BASE_URL.split("://", 1)[-1].rstrip("/") + "/transparency"
)
# The Ed25519 signer key (Go note format). Generated on first use outside production.
TRANSPARENCY_SIGNING_KEY = env(
    "TRANSPARENCY_SIGNING_KEY",
    default=str(VAR_DIR / ("test-transparency" if PORTAL_ENV == "test" else "transparency") / "log-signing.key"),
)
TRANSPARENCY_GENERATE_KEY = env.bool("TRANSPARENCY_GENERATE_KEY", default=not PRODUCTION)
# Earlier verifier keys (<name>+<id>+<key>) still published and accepted after a rotation.
TRANSPARENCY_VERIFIER_KEYS = env.list("TRANSPARENCY_VERIFIER_KEYS", default=[])

# --- Routing engine -----------------------------------------------------------------------
# An outbox row not confirmed by its task this many seconds after sending is sent again.
ENGINE_OUTBOX_RESEND_SECONDS = env.int("ENGINE_OUTBOX_RESEND_SECONDS", default=60)
# Each further re-send of the same row waits twice as long (60, 120, 240 … s), up to this.
ENGINE_OUTBOX_MAX_BACKOFF_SECONDS = env.int("ENGINE_OUTBOX_MAX_BACKOFF_SECONDS", default=3600)
# A row re-sent more than this many times without confirmation is logged at WARNING at each
# further re-send and counted on /healthz (with the defaults, about four hours after its first send).
ENGINE_OUTBOX_WARN_RESENDS = env.int("ENGINE_OUTBOX_WARN_RESENDS", default=8)
# A worker runs the notification task of the events its own task wrote, right after that task's
# commit, instead of sending it through the broker (workflows/outbox.py): false always sends.
ENGINE_OUTBOX_RUN_HERE = env.bool("ENGINE_OUTBOX_RUN_HERE", default=True)
# Growth (docs/operations.md): work done is pruned after these many days (0 keeps it forever),
# once an hour in batches by workflows/growth/pruning.py (`manage.py growth_prune` by hand).
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=7)
NOTIFICATION_DELIVERY_RETENTION_DAYS = env.int("NOTIFICATION_DELIVERY_RETENTION_DAYS", default=90)
NOTIFICATION_RETENTION_DAYS = env.int("NOTIFICATION_RETENTION_DAYS", default=730)
# PostgreSQL: monthly partitions of the audit tables made this many months ahead, once a day.
AUDIT_PARTITION_MONTHS_AHEAD = env.int("AUDIT_PARTITION_MONTHS_AHEAD", default=3)
CELERY_BEAT_SCHEDULE["growth-prune"] = {"task": "workflows.growth.prune", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["audit-partitions"] = {"task": "workflows.growth.partitions_ensure", "schedule": 86400.0}
# Automatic steps: attempts before an incident opens, and the backoff base (2, 4, 8 … s, ≤ 5 min).
ENGINE_MAX_ATTEMPTS = env.int("ENGINE_MAX_ATTEMPTS", default=5)
ENGINE_RETRY_BACKOFF_SECONDS = env.float("ENGINE_RETRY_BACKOFF_SECONDS", default=2.0)
# An automatic step open this long with no run in progress is dispatched again (a lost task).
ENGINE_STALE_STEP_SECONDS = env.int("ENGINE_STALE_STEP_SECONDS", default=CELERY_TASK_TIME_LIMIT + 300 + 60)
ENGINE_CORRECTION_REPLY_DAYS = env.int("ENGINE_CORRECTION_REPLY_DAYS", default=15)
# Extra modules that register department handlers (a deployment's own, or a test's).
ENGINE_HANDLER_MODULES = env.list("ENGINE_HANDLER_MODULES", default=[])

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # limit/offset, refusing values that are not whole numbers in range (portal/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "portal.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Every refusal (lib.refusals.Refused) answers {"detail": message} with its status (409 unless
    # it says otherwise), so API views need no except blocks of their own.
    "EXCEPTION_HANDLER": "lib.refusals.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "One Door API",
    "DESCRIPTION": "Government services: catalogue, applications, documents and department work.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # 403 / 404 / 400 that every operation can answer (portal/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.openapi.standard_error_responses",
        # Links from an answer to the calls that can use it (stateful API testing follows them).
        "portal.openapi.api_links",
    ],
}

# --- Security headers ---------------------------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Test profile -------------------------------------------------------------------------
if PORTAL_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    PRIVATE_STORAGE_ROOT = Path(env("PRIVATE_STORAGE_ROOT", default=str(VAR_DIR / "test-private")))
    WHITENOISE_AUTOREFRESH = True

# --- E-mail -------------------------------------------------------------------------------
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif PORTAL_ENV != "test":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="One Door <no-reply@onedoor.example>")
# Where the accessibility statement tells people to report problems (answered within 5 working days).
ACCESSIBILITY_CONTACT_EMAIL = env("ACCESSIBILITY_CONTACT_EMAIL", default="accessibility@onedoor.example")

# --- Notifications ------------------------------------------------------------------------
# The SMS gateway (workflows/notifications/sms.py): the logging backend until an operator's is configured.
SMS_BACKEND = env("SMS_BACKEND", default="workflows.notifications.sms.LoggingSmsBackend")
# Failed e-mail/SMS deliveries whose backoff has passed are re-enqueued through the outbox.
CELERY_BEAT_SCHEDULE["notifications-retry"] = {"task": "workflows.progress.retry_deliveries", "schedule": 60.0}
# Supervisors are reminded of open follow-ups of poor ratings 2 working days before they are due, and when overdue.
CELERY_BEAT_SCHEDULE["rating-follow-ups-remind"] = {
    "task": "workflows.progress.rating_follow_ups_remind",
    "schedule": 900.0,
}

# --- Logging: one readable line per event; newlines in messages cannot forge lines --------
# --- Metrics (portal/metrics.py, docs/operations.md) -------------------------------------------
# /metrics answers these addresses or networks, and callers with "Authorization: Bearer
# <METRICS_TOKEN>" (when set); everyone else gets 404.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# JSON lines in production (LOG_FORMAT=json), one plain line per event in development; both
# carry the request id, the user's id and the application (portal/request_context.py).
LOG_FORMAT = env("LOG_FORMAT", default="json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "portal.request_context.RequestContextFilter"}},
    "formatters": {
        "plain": {
            "()": "portal.logging.SingleLineFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s user=%(user_id)s] %(message)s",
        },
        "json": {"()": "portal.logging.JsonLineFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # pikepdf announces its log bridge at INFO in every process that reads a PDF.
        "pikepdf": {"level": "WARNING"},
    },
}

# --- Second factors (accounts/second_factor/) ----------------------------------------------
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="One Door")
# Passkeys belong to the portal's host name; the origins are where pages are served from. In
# production both default to the first of ALLOWED_HOSTS (served over HTTPS); a passkey made for
# one host name does not work on another, so set OTP_WEBAUTHN_RP_ID before people enrol.
_PASSKEY_HOST = ALLOWED_HOSTS[0] if PRODUCTION and ALLOWED_HOSTS and ALLOWED_HOSTS[0] != "*" else "localhost"
OTP_WEBAUTHN_RP_ID = env("OTP_WEBAUTHN_RP_ID", default=_PASSKEY_HOST)
OTP_WEBAUTHN_RP_NAME = env("OTP_WEBAUTHN_RP_NAME", default="One Door")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "OTP_WEBAUTHN_ALLOWED_ORIGINS",
    default=[f"https://{_PASSKEY_HOST}"] if PRODUCTION else ["http://localhost:8000"],
)
# A passkey is a second factor here, never a way to sign in without the password.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
# Wrong codes slow the next attempt down: 1, 2, 4, 8 … seconds (django-otp's throttling).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# The admin never shows a TOTP secret or its QR code: an administrator cannot copy a clerk's factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- National eID over OpenID Connect (accounts/eid/) -------------------------------------


def demo_eid_signing_key(path: Path) -> str:
    """The demo eID's RS256 key: made on first use and kept under var/ (nothing is downloaded).
    Created exclusively, so two processes starting at once end up with the same key."""
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("xb") as file:
                file.write(pem)
        except FileExistsError:
            pass
    return path.read_text()


# The demo national eID (portal/demo_eid/, django-oauth-toolkit's OIDC mode) is mounted under
# /demo-eid/ outside production; `check --deploy` refuses it in production.
DEMO_EID = env.bool("DEMO_EID", default=not PRODUCTION)
DEMO_EID_CLIENT_ID = "onedoor-portal"
DEMO_EID_CLIENT_SECRET = "onedoor-demo-eid-secret-not-for-production"
if DEMO_EID:
    INSTALLED_APPS.append("oauth2_provider")
    OAUTH2_PROVIDER = {
        "OIDC_ENABLED": True,
        # RS256 signing key, generated into var/ on first use (portal/demo_eid/signing_key.py).
        "OIDC_RSA_PRIVATE_KEY": demo_eid_signing_key(VAR_DIR / "demo-eid-signing-key.pem"),
        "PKCE_REQUIRED": True,
        "SCOPES": {"openid": "Who you are", "profile": "Your name and resident ID number"},
        "DEFAULT_SCOPES": ["openid"],
        "OAUTH2_VALIDATOR_CLASS": "portal.demo_eid.validator.DemoEidValidator",
        "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
        "ACCESS_TOKEN_EXPIRE_SECONDS": 300,
        "ID_TOKEN_EXPIRE_SECONDS": 300,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    }
# The provider; empty switches eID sign-in off. In development it defaults to the demo eID on
# the served port (runserver is threaded, so the portal can call its own /demo-eid/ over HTTP);
# tests point it at the provider they start.
EID_ISSUER = env(
    "EID_ISSUER", default=f"{PUBLIC_BASE_URL}/demo-eid" if DEMO_EID and PORTAL_ENV != "test" else ""
).rstrip("/")
EID_ENABLED = env.bool("EID_ENABLED", default=bool(EID_ISSUER))
EID_CLIENT_ID = env("EID_CLIENT_ID", default=DEMO_EID_CLIENT_ID if DEMO_EID else "")
EID_CLIENT_SECRET = env("EID_CLIENT_SECRET", default=DEMO_EID_CLIENT_SECRET if DEMO_EID else "")
# A PEM file: the client authenticates with `private_key_jwt` instead of `client_secret_basic`.
EID_PRIVATE_KEY = env("EID_PRIVATE_KEY", default="")
# The provider's `acr` values and the assurance level each asserts ("value=level,value=level").
EID_ACR = env.dict("EID_ACR", default={"urn:onedoor:eid:substantial": "substantial", "urn:onedoor:eid:high": "high"})
# The ID token claim holding the resident ID number.
EID_RESIDENT_ID_CLAIM = env("EID_RESIDENT_ID_CLAIM", default="resident_id")
EID_SCOPE = env("EID_SCOPE", default="openid profile")
# Seconds to wait for the provider (discovery, keys, token) before saying it is not answering.
EID_TIMEOUT_SECONDS = env.float("EID_TIMEOUT_SECONDS", default=5.0)

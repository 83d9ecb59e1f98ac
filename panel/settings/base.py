"""Settings shared by every way of running the panel.

Everything is configured by environment variables with embedded defaults, so nothing
needs editing to start (see README, "Environment variables").
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("PANEL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("PANEL_SECRET_KEY", "dev-only-insecure-key-change-me-in-production")
DEBUG = env_bool("PANEL_DEBUG", False)
ALLOWED_HOSTS = env_list("PANEL_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("PANEL_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "panel",
    "mail",
    "domains",
    "ticketing",
    "newsletter",
    "cloud",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "panel.middleware.ActingViaMiddleware",
]

ROOT_URLCONF = "panel.urls"
WSGI_APPLICATION = "panel.wsgi.application"
ASGI_APPLICATION = "panel.asgi.application"

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
                "panel.context_processors.shell",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'panel.sqlite3'}"),
        conn_max_age=int(os.environ.get("PANEL_DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run`'s database. Every transaction takes the write lock when it begins, and
    # others wait for it (up to 30 s) instead of failing with "database is locked": the
    # shop's checkouts are then one after the other, as the zones' row locks make them on
    # PostgreSQL. WAL lets pages be read meanwhile.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "panel.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "panel" / "locale"]
TIME_ZONE = os.environ.get("PANEL_TIME_ZONE", "Europe/Zurich")
USE_I18N = True
USE_TZ = True
# One unambiguous date form per language (panel/formats/), 24-hour clock.
FORMAT_MODULE_PATH = ["panel.formats"]

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("PANEL_STATIC_ROOT", VAR_DIR / "static"))
# Browser libraries installed by npm from package-lock.json (`make node_modules`), served
# by the panel itself rather than a CDN: static/vendor/qr-scanner/ is the door scanner's
# QR reader, whose worker script loads from next to it; static/vendor/sortablejs/ drags
# the blocks of the newsletter editor.
STATICFILES_DIRS = [
    ("vendor/qr-scanner", BASE_DIR / "node_modules" / "qr-scanner"),
    ("vendor/sortablejs", BASE_DIR / "node_modules" / "sortablejs"),
    # chart.js draws the campaign report's charts
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js"),
]
MEDIA_ROOT = Path(os.environ.get("PANEL_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "panel:home"
LOGOUT_REDIRECT_URL = "account_login"

# Mail sent by the panel itself (verification, invitations, password resets).
DEFAULT_FROM_EMAIL = os.environ.get("PANEL_FROM_EMAIL", "Panel <no-reply@panel.localhost>")
EMAIL_BACKEND = os.environ.get(
    "PANEL_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = os.environ.get("PANEL_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("PANEL_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("PANEL_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("PANEL_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("PANEL_EMAIL_USE_TLS", False)

# django-allauth: email is the login, it must be verified, failed sign-ins are throttled.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = os.environ.get("PANEL_HTTP_PROTOCOL", "http")
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/5m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Panel] "
# The site allauth names in its mails and pages ("Hello from Panel!"): its name and domain
# are set by panel/migrations/0003_site_name.py.
SITE_ID = 1
# The account forms with sentence-case labels ("Remember me").
ACCOUNT_FORMS = {
    "login": "panel.account_forms.LoginForm",
    "change_password": "panel.account_forms.ChangePasswordForm",
    "reset_password_from_key": "panel.account_forms.ResetPasswordKeyForm",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Panel"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": os.environ.get(
            "PANEL_CACHE_BACKEND", "django.core.cache.backends.redis.RedisCache"
        ),
        "LOCATION": os.environ.get("PANEL_CACHE_URL", REDIS_URL),
    }
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task taken by a worker that died is handed out again after this many seconds. The
# lock guarding that hand-out must not outlive it (a worker killed while holding it would
# otherwise delay every redelivery by kombu's default of 5 minutes).
_VISIBILITY_TIMEOUT = int(os.environ.get("PANEL_CELERY_VISIBILITY_TIMEOUT", "3600"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _VISIBILITY_TIMEOUT,
    "unacked_mutex_expire": min(300, _VISIBILITY_TIMEOUT),
    # Look for such tasks every 10 s (kombu's default sweeps only every 100 s).
    "unacked_restore_interval": min(10, _VISIBILITY_TIMEOUT),
    "unacked_restore_throttle": 1,
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE = {
    "purge-expired-job-files": {"task": "panel.tasks.purge_expired_job_files", "schedule": 3600},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "panel.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "panel.api.permissions.TokenScope",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "panel.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "panel.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "panel.api.errors.exception_handler",
    # Generous defaults: tokens are unguessable, the limits only stop runaway scripts.
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("PANEL_API_RATE_ANON", "600/min"),
        "user": os.environ.get("PANEL_API_RATE_USER", "3000/min"),
    },
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Panel API",
    "DESCRIPTION": "REST API of the Panel hosting control panel. Authenticate with a session "
    "or with `Authorization: Bearer <personal access token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The interactive docs are served from the installed package, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "MemberRoleEnum": "panel.models.Role",
        "InvitationRoleEnum": "panel.models.InvitationRole",
        "InvitationStatusEnum": "panel.models.InvitationStatus",
        "JobStatusEnum": "panel.models.JobStatus",
        "MailLogStatusEnum": "mail.models.MailLogStatus",
        "AssignableRoleEnum": ["admin", "user"],
        "OrderStatusEnum": "ticketing.models.OrderStatus",
        "PaymentMethodEnum": "ticketing.models.PaymentMethod",
        "CampaignStatusEnum": "newsletter.models.CampaignStatus",
    },
}


def _no_traceback_below_500(record) -> bool:
    """A 4xx (a 403, a 404, a bad Host) is the visitor's doing, not a bug: one line in the
    log, without the traceback Django attaches to it."""
    if getattr(record, "status_code", 500) < 500:
        record.exc_info = None
        record.exc_text = None
    return True


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "no_traceback_below_500": {
            "()": "django.utils.log.CallbackFilter",
            "callback": _no_traceback_below_500,
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["no_traceback_below_500"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("PANEL_LOG_LEVEL", "INFO")},
    # Django's default config gives "django" a console handler of its own (under DEBUG):
    # with the root's, every request error was printed twice. The root prints it once.
    "loggers": {"django": {"handlers": [], "propagate": True}},
}

# Job results (CSV exports) are kept this many days.
PANEL_JOB_RESULT_RETENTION_DAYS = int(os.environ.get("PANEL_JOB_RESULT_RETENTION_DAYS", "7"))

# Absolute address of the panel, used in links sent by email.
PANEL_BASE_URL = os.environ.get("PANEL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Service Mail: where Maildirs live (Dovecot reads <root>/<domain>/<local>/Maildir) and the
# scheme mailbox passwords are hashed with (a Dovecot scheme name).
MAIL_STORE_ROOT = Path(os.environ.get("PANEL_MAIL_STORE_ROOT", VAR_DIR / "mailstore"))
MAIL_PASSWORD_SCHEME = os.environ.get("PANEL_MAIL_PASSWORD_SCHEME", "SHA512-CRYPT")
# Nightly mailbox backups: content-addressed snapshots under this root, taken at this hour
# (server time), kept 30 days.
MAIL_BACKUP_ROOT = Path(os.environ.get("PANEL_MAIL_BACKUP_ROOT", VAR_DIR / "mail-backups"))
MAIL_BACKUP_HOUR = int(os.environ.get("PANEL_MAIL_BACKUP_HOUR", "3"))
MAIL_BACKUP_KEEP_DAYS = 30
# Domains: where zones are published ("powerdns": its HTTP API; "zonefile": BIND files
# under DNS_ZONE_DIR, for `make run`), and what every new zone starts with.
DNS_PUBLISHER = os.environ.get("PANEL_DNS_PUBLISHER", "zonefile")
DNS_ZONE_DIR = Path(os.environ.get("PANEL_DNS_ZONE_DIR", VAR_DIR / "zones"))
POWERDNS_API_URL = os.environ.get("PANEL_POWERDNS_API_URL", "http://127.0.0.1:8081/api/v1")
POWERDNS_API_KEY = os.environ.get("PANEL_POWERDNS_API_KEY", "")
POWERDNS_SERVER_ID = os.environ.get("PANEL_POWERDNS_SERVER_ID", "localhost")
DNS_NAMESERVERS = [
    name.strip()
    for name in os.environ.get(
        "PANEL_DNS_NAMESERVERS", "ns1.panel.localhost,ns2.panel.localhost"
    ).split(",")
    if name.strip()
]
DNS_HOSTMASTER = os.environ.get("PANEL_DNS_HOSTMASTER", "hostmaster.panel.localhost")
DNS_DEFAULT_TTL = 3600
# The resolver that looks for the TXT record proving control of a domain the panel does
# not host (panel/services/domain_claims.py); pending names are checked every few minutes.
# "panel-zones" (panel/resolvers.py) reads the zones this panel publishes: the default
# when they are zone files (`make run`, where no DNS server listens).
DNS_RESOLVER = os.environ.get(
    "PANEL_DNS_RESOLVER", "panel-zones" if DNS_PUBLISHER == "zonefile" else "127.0.0.1"
)
DNS_RESOLVER_PORT = int(os.environ.get("PANEL_DNS_RESOLVER_PORT", "53"))
DNS_RESOLVER_TIMEOUT = float(os.environ.get("PANEL_DNS_RESOLVER_TIMEOUT", "3"))
CELERY_BEAT_SCHEDULE["verify-domain-claims"] = {
    "task": "panel.tasks.verify_domain_claims",
    "schedule": 300.0,
}
# The records "Use with Service Mail" sets, and the resolver the mail DNS diagnostic asks.
MAIL_DNS_MX_HOST = os.environ.get("PANEL_MAIL_DNS_MX_HOST", "mx.panel.localhost")
MAIL_DNS_SPF_INCLUDE = os.environ.get("PANEL_MAIL_DNS_SPF_INCLUDE", "spf.panel.localhost")
MAIL_DNS_AUTOCONFIG_HOST = os.environ.get(
    "PANEL_MAIL_DNS_AUTOCONFIG_HOST", "autoconfig.panel.localhost"
)
MAIL_DNS_DKIM_SELECTOR = os.environ.get("PANEL_MAIL_DNS_DKIM_SELECTOR", "panel")
MAIL_DNS_RESOLVER = os.environ.get("PANEL_MAIL_DNS_RESOLVER", DNS_RESOLVER)
MAIL_DNS_RESOLVER_PORT = int(os.environ.get("PANEL_MAIL_DNS_RESOLVER_PORT", DNS_RESOLVER_PORT))
MAIL_DNS_RESOLVER_TIMEOUT = float(os.environ.get("PANEL_MAIL_DNS_RESOLVER_TIMEOUT", "3"))
# The records of one mail DNS check are asked at once, within this many seconds in all.
MAIL_DNS_CHECK_DEADLINE = float(os.environ.get("PANEL_MAIL_DNS_CHECK_DEADLINE", "4"))
# The servers mail programs are told to use (autoconfig, autodiscover, Apple profiles,
# mail/autoconfig.py): IMAP and submission, each with its security, SSL (TLS from the
# first byte), STARTTLS or plain. Both hosts default to the MX host.
MAIL_IMAP_HOST = os.environ.get("PANEL_MAIL_IMAP_HOST", MAIL_DNS_MX_HOST)
MAIL_IMAP_PORT = int(os.environ.get("PANEL_MAIL_IMAP_PORT", "993"))
MAIL_IMAP_SECURITY = os.environ.get("PANEL_MAIL_IMAP_SECURITY", "SSL")
MAIL_SUBMISSION_HOST = os.environ.get("PANEL_MAIL_SUBMISSION_HOST", MAIL_IMAP_HOST)
MAIL_SUBMISSION_PORT = int(os.environ.get("PANEL_MAIL_SUBMISSION_PORT", "587"))
MAIL_SUBMISSION_SECURITY = os.environ.get("PANEL_MAIL_SUBMISSION_SECURITY", "STARTTLS")

# Importing another mailbox connects to the host a customer gives; private and loopback
# addresses are refused unless this is on (tests and local development only).
MAIL_IMPORT_ALLOW_PRIVATE_HOSTS = env_bool("PANEL_MAIL_IMPORT_ALLOW_PRIVATE_HOSTS", False)
CELERY_BEAT_SCHEDULE["back-up-every-mailbox"] = {
    "task": "mail.tasks.back_up_every_mailbox",
    "schedule": crontab(hour=MAIL_BACKUP_HOUR, minute=0),
}

# Outgoing limits: the policy service Postfix asks at each recipient (manage.py
# mail_policyd, deploy/postfix/), on loopback by default. When Redis (its counters)
# or the database is unreachable it defers every recipient ("closed"), or lets mail
# through uncounted with PANEL_MAIL_POLICY_FAIL_OPEN=1.
MAIL_POLICY_HOST = os.environ.get("PANEL_MAIL_POLICY_HOST", "127.0.0.1")
MAIL_POLICY_PORT = int(os.environ.get("PANEL_MAIL_POLICY_PORT", "10040"))
MAIL_POLICY_FAIL_OPEN = env_bool("PANEL_MAIL_POLICY_FAIL_OPEN", False)
# A limit changed in the admin applies within this many seconds (or at once on SIGHUP).
MAIL_POLICY_LIMIT_CACHE_SECONDS = int(os.environ.get("PANEL_MAIL_POLICY_LIMIT_CACHE", "60"))
MAIL_LOG_RETENTION_DAYS = 30
CELERY_BEAT_SCHEDULE["purge-mail-log"] = {
    "task": "mail.tasks.purge_mail_log",
    "schedule": crontab(hour=4, minute=30),
}

# DKIM: the signer Postfix's submission service hands each message to (manage.py
# mail_dkim_milter, deploy/postfix/), on loopback by default. A new key signs once its
# record is served; beat looks for waiting keys' records every few minutes.
MAIL_DKIM_MILTER_HOST = os.environ.get("PANEL_MAIL_DKIM_MILTER_HOST", "127.0.0.1")
MAIL_DKIM_MILTER_PORT = int(os.environ.get("PANEL_MAIL_DKIM_MILTER_PORT", "8891"))
# A key or sender change applies to the signer within this many seconds.
MAIL_DKIM_CACHE_SECONDS = int(os.environ.get("PANEL_MAIL_DKIM_CACHE", "60"))
CELERY_BEAT_SCHEDULE["activate-dkim-keys"] = {
    "task": "mail.tasks.activate_dkim_keys",
    "schedule": 300.0,
}

# Ticket office. Card payments: "test_card" (the shop's own test page, nothing is charged),
# "stripe" (Stripe Checkout, with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET), or "" for
# none. Ticket secrets and order links are derived with TICKETING_SECRET_KEY (default: the
# panel's secret key): changing it changes the codes of tickets drawn afterwards.
TICKETING_CARD_PROVIDER = os.environ.get("PANEL_TICKETING_CARD_PROVIDER", "test_card")
TICKETING_SECRET_KEY = os.environ.get("PANEL_TICKETING_SECRET_KEY", "")
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
# The public shop's API: buyers have no account, so it is limited per client address.
TICKETING_SHOP_RATE = os.environ.get("PANEL_TICKETING_SHOP_RATE", "120/min")
CELERY_BEAT_SCHEDULE["expire-ticket-orders"] = {
    "task": "ticketing.orders_expire",
    "schedule": 300.0,
}
# A paid order whose tickets email could not be queued gets it within minutes.
CELERY_BEAT_SCHEDULE["send-unsent-tickets"] = {
    "task": "ticketing.unsent_tickets_send",
    "schedule": 300.0,
}
# Guests' reminders go out within a minute of the moment the organiser chose.
CELERY_BEAT_SCHEDULE["start-guest-reminders"] = {
    "task": "ticketing.guest_reminders_due",
    "schedule": 60.0,
}

# Newsletter: the public subscription forms, confirmation, preferences and unsubscribe
# pages (/n/) and their API have no account, so each client address may post this often.
NEWSLETTER_FORM_RATE = os.environ.get("PANEL_NEWSLETTER_FORM_RATE", "30/min")

# Newsletter sending (newsletter/services/delivery.py, newsletter/throttle.py).
# Campaigns go out through this SMTP server (the platform's Postfix, deploy/postfix/);
# "file://<dir>" writes each message to a file instead (the default when the panel's own
# mail is not sent over SMTP, as under `make run` without `make mail-demo`).
NEWSLETTER_SMTP_URL = os.environ.get("PANEL_NEWSLETTER_SMTP_URL", "")
# The whole platform sends at most this many campaign emails per second, shared by the
# campaigns being sent in turns; each account also has its plan's hourly quota.
NEWSLETTER_GLOBAL_RATE = float(os.environ.get("PANEL_NEWSLETTER_GLOBAL_RATE", "50"))
# The window of the hourly quota, in seconds (tests compress time with it).
NEWSLETTER_QUOTA_WINDOW = float(os.environ.get("PANEL_NEWSLETTER_QUOTA_WINDOW", "3600"))
# A scheduled campaign whose time passed longer ago than this (the platform was down)
# waits for its customer to confirm instead of going out late.
NEWSLETTER_LATE_START_HOURS = float(os.environ.get("PANEL_NEWSLETTER_LATE_START_HOURS", "6"))
# Recipients a worker claims at once, and how long it holds them (its lease).
NEWSLETTER_BATCH_SIZE = int(os.environ.get("PANEL_NEWSLETTER_BATCH_SIZE", "100"))
NEWSLETTER_LEASE_SECONDS = int(os.environ.get("PANEL_NEWSLETTER_LEASE_SECONDS", "120"))
# A recipient refused with 4xx is tried again after 1, 2, 4 ... minutes, this many times.
NEWSLETTER_MAX_ATTEMPTS = int(os.environ.get("PANEL_NEWSLETTER_MAX_ATTEMPTS", "5"))
NEWSLETTER_RETRY_BASE_SECONDS = float(os.environ.get("PANEL_NEWSLETTER_RETRY_BASE_SECONDS", "60"))
# Bounces and complaints come back to <token>@NEWSLETTER_BOUNCE_DOMAIN, which the
# platform's Postfix hands to `manage.py newsletter_inbound` on this port.
NEWSLETTER_BOUNCE_DOMAIN = os.environ.get(
    "PANEL_NEWSLETTER_BOUNCE_DOMAIN", "bounces.panel.localhost"
)
NEWSLETTER_INBOUND_HOST = os.environ.get("PANEL_NEWSLETTER_INBOUND_HOST", "127.0.0.1")
NEWSLETTER_INBOUND_PORT = int(os.environ.get("PANEL_NEWSLETTER_INBOUND_PORT", "2526"))
# Each worker loop (the Celery task newsletter.deliver) runs this long, then hands over.
NEWSLETTER_DELIVER_SECONDS = float(os.environ.get("PANEL_NEWSLETTER_DELIVER_SECONDS", "50"))
# At most this many of those loops at once (each holds one Celery worker process).
NEWSLETTER_DELIVER_CONCURRENCY = int(os.environ.get("PANEL_NEWSLETTER_DELIVER_CONCURRENCY", "2"))
CELERY_BEAT_SCHEDULE["newsletter-tick"] = {"task": "newsletter.tick", "schedule": 5.0}

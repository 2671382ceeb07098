"""Django settings for PICO Eval, read from environment variables (docs/configuration.md).

Defaults give a working local site: SQLite in WAL mode under ``var/``. Production sets
``DEBUG=0`` (the default), a ``SECRET_KEY``, ``ALLOWED_HOSTS`` and usually a PostgreSQL
``DATABASE_URL``.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from evalsite.env import envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("PICO_VAR_DIR") or BASE_DIR / "var").resolve()
TESTING = "pytest" in sys.modules or (len(sys.argv) > 1 and sys.argv[1] == "test")

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. In production set SECRET_KEY (or SECRET_KEY_FILE) to a long random "
            "string, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(50))'`; "
            "for local development set DEBUG=1."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"
# Former keys, still accepted for what they signed (sessions, sealed image URLs) while a new SECRET_KEY rolls out.
SECRET_KEY_FALLBACKS = envlist("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG or TESTING else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = (envstr("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "axes",
    "evalsite.studies",
    "evalsite.screening",
    "evalsite.rating",
    "evalsite.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its message
]

ROOT_URLCONF = "evalsite.urls"
WSGI_APPLICATION = "evalsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "evalsite" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    """DATABASE_URL, defaulting to SQLite in WAL mode under VAR_DIR."""
    url = envstr("DATABASE_URL")
    if not url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    try:
        config: dict[str, Any] = dict(
            dj_database_url.parse(url, conn_max_age=envint("DB_CONN_MAX_AGE", 60), conn_health_checks=True)
        )
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL={url!r} cannot be parsed ({exc}); use e.g. postgres://user:pass@host:5432/name "
            "or sqlite:////absolute/path.sqlite3"
        ) from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets raters' reads go on while a judgment is written; IMMEDIATE takes the write
        # lock at BEGIN so two concurrent judgment transactions queue instead of deadlocking.
        # Connections persist like PostgreSQL's (DB_CONN_MAX_AGE): opening one and running the
        # PRAGMAs cost more than a rater's query.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
            "transaction_mode": "IMMEDIATE",
        }
    if config["ENGINE"] == "django.db.backends.postgresql" and envbool("DB_PREPARED_STATEMENTS", True):
        # A query run twice on a connection is parsed and planned once: nearly halves PostgreSQL's CPU
        # per request under load (docs/configuration.md). Off behind a transaction-pooling
        # PgBouncer older than 1.21, which cannot keep prepared statements.
        config["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 2}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One queue per kind of background work, each with its own worker (`make demo`), so that a
# study's generation never waits behind a report's sampling or a design refresh.
TASK_QUEUES = ("generation", "reports", "design")
# Background workers run this much nicer than the site (os.nice), so that on a shared machine a
# rater's request never waits for a plate being drawn, a ladder being encoded or a report's fit.
TASK_WORKER_NICE = envint("TASK_WORKER_NICE", 10)
TASKS = {
    "default": {
        "BACKEND": envstr("TASKS_BACKEND") or "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", *TASK_QUEUES],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Researcher logins: django-axes locks a username at one address out after AXES_FAILURE_LIMIT
# failures for LOGIN_LOCKOUT_MINUTES (docs/security.md). Rater entry: RATER_ENTRIES_PER_MINUTE
# per client address (0: no limit), counted in the cache. CLIENT_IP_HEADER: the header a trusted
# proxy puts the client's address in (e.g. HTTP_X_REAL_IP); without it, REMOTE_ADDR.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures only: successful logins are not logged with their address
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "evalsite.throttling.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
CLIENT_IP_HEADER = envstr("CLIENT_IP_HEADER") or ""
RATER_ENTRIES_PER_MINUTE = envint("RATER_ENTRIES_PER_MINUTE", 30)
# One cache for every worker and host (rate-limit counters must be shared): a table in the
# database, made by `migrate` (the rating app runs `createcachetable` after it). MAX_ENTRIES leaves
# room for a launch's worth of per-address counters before Django culls a third of the table.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "pico_cache",
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    }
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "studies:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "evalsite" / "static"]
# Without collectstatic (development, tests) whitenoise finds files in the apps directly.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
# Source maps are only for developer tools; compressing the API docs' (10 MB) was most of collectstatic.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")


def _study_files() -> dict[str, Any]:
    """Rendered crops and colour plates: under VAR_DIR/files, or in the S3-compatible bucket STUDY_FILES_BUCKET."""
    bucket = envstr("STUDY_FILES_BUCKET")
    if not bucket:
        return {"BACKEND": "evalsite.rating.files.StudyFileSystemStorage", "OPTIONS": {"location": VAR_DIR / "files"}}
    return {  # django-storages with boto3; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": envstr("STUDY_FILES_ENDPOINT_URL"),
            "location": envstr("STUDY_FILES_PREFIX") or "",
        },
    }


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "studyfiles": _study_files(),
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
# Reconstructions and references of every study live here; stimulus paths are relative to it.
STUDY_DATA_DIR = VAR_DIR / "studies"
# Colour plates drawn ahead by the design worker, in raters' worth (screening/pool.py).
SCREENING_PLATE_POOL_RATERS = envint("SCREENING_PLATE_POOL_RATERS", 100)
# The largest zip of images a researcher may upload (create form and API); a proxy in front
# should refuse larger request bodies too (docs/security.md).
STUDY_UPLOAD_MAX_BYTES = envint("STUDY_UPLOAD_MAX_MB", 200) * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# In production the site sits behind a TLS proxy (nginx, Caddy, a load balancer) that sets
# X-Forwarded-Proto: then requests count as HTTPS, plain HTTP is redirected, browsers are told to
# use HTTPS only (HSTS) and cookies are Secure. BEHIND_TLS_PROXY=0 serves plain HTTP (`make serve`
# on loopback); `check --deploy` then lists exactly these four settings (docs/configuration.md).
BEHIND_TLS_PROXY = envbool("BEHIND_TLS_PROXY", not (DEBUG or TESTING))
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL") or "INFO"},
    # ArviZ logs which of its preview subpackages are missing at every import.
    "loggers": {"arviz": {"level": "WARNING"}},
}

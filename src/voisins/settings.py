"""Typed settings, read once from ``VOISINS_*`` environment variables.

Nothing else in the code base reads the environment: everything receives a
``Settings`` instance. Each field ``name`` is read from ``VOISINS_<NAME>``; msgspec
does the conversion and the range checks, and a bad value becomes one
``SettingsError`` line naming the variable and the expected form.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

PREFIX = "VOISINS_"

DEV_SECRET_KEY = "dev-secret-key-change-me-in-production"
Port = Annotated[int, Meta(ge=1, le=65535)]
Weight = Annotated[float, Meta(ge=0.0, le=10.0)]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# How many times an action may be done within a rate limit's window.
Allowance = Annotated[int, Meta(ge=1, le=100_000)]


@lru_cache(maxsize=8)
def _trusted_networks(value: str) -> tuple[IPNetwork, ...]:
    # Read on every request (api/deps.py, client_ip): parsed once per distinct value.
    return tuple(_networks(value))


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every setting of the service, with defaults that work on a developer's machine."""

    environment: Literal["development", "test", "production"] = "development"
    database_url: Annotated[str, Meta(pattern=r"^postgres(ql)?(\+asyncpg)?://")] = (
        "postgresql://voisins@127.0.0.1:5432/voisins"
    )
    redis_url: Annotated[str, Meta(pattern=r"^rediss?://")] = "redis://127.0.0.1:6379/0"
    # Development default only: production refuses it (see load_settings).
    secret_key: Annotated[str, Meta(min_length=16)] = DEV_SECRET_KEY
    public_base_url: Annotated[str, Meta(pattern=r"^https?://[^\s/]+(/\S*)?$")] = (
        "http://127.0.0.1:8000"
    )
    host: str = "127.0.0.1"
    port: Port = 8000
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    # Side of a public grid cell in metres (Lambert-93). Everything another person
    # sees about a location is derived from the centre of this cell.
    grid_cell_m: Annotated[int, Meta(ge=100, le=5000)] = 500
    # Maximum request body; larger bodies are refused with 413.
    max_body_bytes: Annotated[int, Meta(ge=1024, le=50_000_000)] = 1_000_000
    # Seconds between two "dependency still down" log lines.
    health_log_interval_s: Annotated[float, Meta(gt=0, le=3600)] = 60.0
    # Timeout of one readiness probe of PostgreSQL or Redis.
    health_timeout_s: Annotated[float, Meta(gt=0, le=30)] = 2.0
    # The API's database connections: how many, how long a request waits for one before
    # it is told 503 (busy, retry) rather than queueing for minutes, and how long one
    # statement may run before PostgreSQL cancels it (a slow query cannot hold a
    # connection while the others wait).
    db_pool_size: Annotated[int, Meta(ge=1, le=200)] = 10
    db_pool_timeout_s: Annotated[float, Meta(gt=0, le=120)] = 5.0
    db_statement_timeout_s: Annotated[float, Meta(gt=0, le=3600)] = 30.0
    # /metrics (Prometheus) answers only requests bearing this token; empty: no /metrics.
    metrics_token: Annotated[str, Meta(pattern=r"^(\S{16,})?$")] = ""
    # Base Adresse Nationale search API; empty means address geocoding is off.
    geocoder_url: str = ""
    # Address search: "addok" (self-hosted, on Redis, fed by `voisins addresses import`),
    # "ban" (the API at geocoder_url: addresses leave the server), "off". Empty: "ban"
    # when geocoder_url is set (deployments that already use it), else "addok".
    geocoder: Literal["", "addok", "ban", "off"] = ""
    # addok's Redis database; empty: db 1 on VOISINS_REDIS_URL's server (in tests, the
    # tests' own database, which they flush).
    addok_redis_url: Annotated[str, Meta(pattern=r"^(rediss?://.*)?$")] = ""
    geocoder_timeout_s: Annotated[float, Meta(gt=0, le=30)] = 5.0
    # Cookies are sent only over HTTPS unless this is false (local development).
    secure_cookies: bool = False
    # Web pages: the map tiles (pages work without them) and where the front-end
    # libraries installed by npm live ("" = the repository's node_modules).
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_tile_attribution: str = "© OpenStreetMap"
    web_assets_dir: str = ""
    session_ttl_s: Annotated[int, Meta(ge=300, le=90 * 86400)] = 14 * 86400
    # Failed logins (and second-factor codes) per account, and per client IP, within the
    # window (accounts/ratelimit.py). Successful logins are not counted; a device that
    # signed in to an account before is spared that account's count for this many days
    # (accounts/known_devices.py), so that nobody can lock the owner out.
    login_max_attempts: Annotated[int, Meta(ge=1, le=1000)] = 5
    login_window_s: Annotated[int, Meta(ge=10, le=86400)] = 900
    login_ip_max_attempts: Allowance = 20
    login_known_device_days: Annotated[int, Meta(ge=1, le=730)] = 180
    # The proxies in front of the service (comma-separated addresses or CIDR blocks):
    # X-Forwarded-For is believed only from them, and the client is the right-most
    # address there that is not one of them. Empty: the peer is the client.
    trusted_proxies: str = ""
    # Rate limits on what anyone can repeat for free (accounts/ratelimit.py).
    # Sign-ups per client IP: a centre's wifi signs a whole workshop up.
    limit_register_per_ip_per_hour: Allowance = 20
    # Password-reset links per address (a mailbox must not be flooded), and per IP.
    limit_reset_per_address_per_hour: Annotated[int, Meta(ge=1, le=100)] = 3
    limit_reset_per_ip_per_hour: Allowance = 20
    # Reports and blocks per account, refused ones included (walking ids through them).
    limit_report_per_hour: Allowance = 10
    limit_block_per_hour: Allowance = 10
    # Conversation messages per account and minute (a person types far fewer; a
    # script flooding the other side is stopped).
    limit_message_per_minute: Allowance = 20
    # Searches of the public listing without signing in, per client IP.
    limit_anonymous_search_per_ip_per_minute: Annotated[int, Meta(ge=1, le=10_000_000)] = 60
    # E-mail over SMTP; an empty host turns e-mail off.
    smtp_host: str = ""
    smtp_port: Port = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_sender: str = "voisins <ne-pas-repondre@voisins.local>"
    smtp_timeout_s: Annotated[float, Meta(gt=0, le=120)] = 10.0
    # SMS through an HTTP provider; an empty URL turns SMS off.
    sms_url: str = ""
    sms_token: str = ""
    sms_sender: str = "voisins"
    # Networks partner webhooks may reach besides the public Internet, comma-separated
    # (e.g. "10.20.0.0/16" for a partner on the same private network). Empty: public
    # addresses only; loopback, private and link-local ones are refused, and metadata
    # services (169.254.169.254…) always are (notify/safe_urls.py).
    webhook_allow_networks: Annotated[str, Meta(pattern=r"^[0-9A-Fa-f.:/, ]*$")] = ""
    # Attempts of a delivery before it becomes a dead letter.
    delivery_max_attempts: Annotated[int, Meta(ge=1, le=50)] = 6
    # A send job renews its claims every fifth of this while it runs
    # (``delivery_claim_heartbeat_s``); claims not renewed for this long belong to a
    # worker that died and are handed out again (five heartbeats missed).
    delivery_claim_timeout_s: Annotated[int, Meta(ge=1, le=3600)] = 20
    # Matching: batch size per needed volunteer, deadline of a batch, radius growth.
    match_batch_per_needed: Annotated[int, Meta(ge=1, le=100)] = 10
    match_deadline_s: Annotated[int, Meta(ge=60, le=30 * 86400)] = 24 * 3600
    match_max_batches: Annotated[int, Meta(ge=1, le=20)] = 2
    match_widen_factor: Annotated[float, Meta(ge=1.0, le=5.0)] = 1.5
    match_cooldown_s: Annotated[int, Meta(ge=0, le=30 * 86400)] = 3600
    weight_distance: Weight = 4.0
    weight_skill: Weight = 2.0
    weight_availability: Weight = 1.5
    weight_language: Weight = 1.0
    weight_fairness: Weight = 1.5
    weight_reliability: Weight = 1.0
    # Follow-up list (aller-vers): an isolated person without any activity for this many
    # days, a recurring visit without a check-in for this many days.
    followup_isolated_days: Annotated[int, Meta(ge=1, le=365)] = 30
    followup_checkin_days: Annotated[int, Meta(ge=2, le=90)] = 10
    # Intergenerational housing (housing/): the trial period's length, the first follow-up
    # visit after the young person moves in, then one every this many months; candidates
    # farther than ``housing_max_km`` (between public cells) from the young person's
    # place of study or work are not proposed to the social worker.
    housing_trial_months: Annotated[int, Meta(ge=1, le=6)] = 1
    housing_first_visit_months: Annotated[int, Meta(ge=1, le=6)] = 1
    housing_visit_every_months: Annotated[int, Meta(ge=1, le=12)] = 3
    housing_max_km: Annotated[int, Meta(ge=1, le=100)] = 20
    # Retention of support records (moderation/gdpr.py, daily): follow-up outcomes,
    # consent notes, report texts, review and cancellation reasons are anonymised this
    # many days after the last contact with the people they concern, and conversation
    # texts this many days after they were written. At least a month past the 30 days
    # a conversation stays writable after the help ended; ten years at most.
    support_retention_days: Annotated[int, Meta(ge=60, le=3650)] = 730
    # Quotas per account against probing the matcher (publish, withdraw, publish again,
    # pause and resume as fast as one likes: accounts/quotas.py). A resident posts a few
    # requests a week; a social worker at an outreach session registers a handful of
    # residents' posts in an hour. Ten publications an hour and thirty a day leave them
    # room; re-publishing is rarer still (an expired post, a refused one once edited);
    # a volunteer pauses and resumes once or twice a day at most.
    quota_publish_per_hour: Annotated[int, Meta(ge=1, le=10_000)] = 10
    quota_publish_per_day: Annotated[int, Meta(ge=1, le=100_000)] = 30
    quota_republish_per_hour: Annotated[int, Meta(ge=1, le=10_000)] = 5
    quota_withdraw_per_hour: Annotated[int, Meta(ge=1, le=10_000)] = 10
    quota_pause_per_hour: Annotated[int, Meta(ge=1, le=10_000)] = 6
    # This many posts withdrawn by one account within ``..._window_s``, each less than
    # ``..._s`` after its publication, put the account on the covering centre's
    # follow-up list: nobody needs help and no longer needs it half an hour later,
    # three times a day, but someone mapping who gets proposed what does exactly that.
    followup_short_lived_posts: Annotated[int, Meta(ge=2, le=1000)] = 3
    followup_short_lived_s: Annotated[int, Meta(ge=60, le=86400)] = 1800
    followup_short_lived_window_s: Annotated[int, Meta(ge=3600, le=30 * 86400)] = 86400
    # The organisation that runs this service, shown on the legal pages (mentions
    # légales, politique de confidentialité). The defaults say they are to be set: a
    # deployment must name itself, its address, its data protection contact, its
    # publication director and its host. (French typography: a no-break space, written
    # \u00a0, before each colon, as voisins.typography sets the pages' own texts.)
    org_name: Annotated[str, Meta(min_length=1, max_length=200)] = (
        "Nom de l'organisation (à renseigner\u00a0: VOISINS_ORG_NAME)"
    )
    org_address: Annotated[str, Meta(min_length=1, max_length=500)] = (
        "Adresse postale (à renseigner\u00a0: VOISINS_ORG_ADDRESS)"
    )
    org_dpo_email: Annotated[str, Meta(min_length=3, max_length=254)] = "dpo@a-renseigner.invalid"
    org_publication_director: Annotated[str, Meta(min_length=1, max_length=200)] = (
        "Directeur ou directrice de la publication (à renseigner\u00a0: "
        "VOISINS_ORG_PUBLICATION_DIRECTOR)"
    )
    org_host: Annotated[str, Meta(min_length=1, max_length=500)] = (
        "Hébergeur\u00a0: nom, adresse et téléphone (à renseigner\u00a0: VOISINS_ORG_HOST)"
    )
    # The area the home page shows to visitors (signed-in people see their own): the
    # deployment's neighbourhood, its name as said after «Près de» / "Near".
    home_area_name: Annotated[str, Meta(min_length=1, max_length=100)] = "la Goutte d'Or"
    home_lon: Annotated[float, Meta(ge=-180, le=180)] = 2.354
    home_lat: Annotated[float, Meta(ge=-90, le=90)] = 48.886

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        """``trusted_proxies`` parsed (checked when the settings are loaded)."""
        return _trusted_networks(self.trusted_proxies)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the asyncpg driver named, as SQLAlchemy wants it."""
        return re.sub(r"^postgres(ql)?(\+asyncpg)?://", "postgresql+asyncpg://", self.database_url)

    @property
    def address_search(self) -> str:
        """The geocoder in use: addok, ban or off."""
        return self.geocoder or ("ban" if self.geocoder_url else "addok")

    @property
    def addok_redis_dsn(self) -> str:
        """addok's own Redis database (see ``addok_redis_url``)."""
        if self.addok_redis_url:
            return self.addok_redis_url
        if self.environment == "test":
            return self.redis_url
        return re.sub(r"(/\d*)?(\?.*)?$", r"/1\2", self.redis_url, count=1)

    @property
    def delivery_claim_heartbeat_s(self) -> float:
        """How often a running send job renews its claims (see ``delivery_claim_timeout_s``)."""
        return self.delivery_claim_timeout_s / 5

    @property
    def asyncpg_dsn(self) -> str:
        """The database URL as plain asyncpg wants it (no driver suffix)."""
        return re.sub(r"^postgres(ql)?(\+asyncpg)?://", "postgresql://", self.database_url)


class SettingsError(Exception):
    """A ``VOISINS_*`` variable holds a value of the wrong form."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        self.variable = variable
        super().__init__(f"invalid {variable}={value!r}: expected {expected}")


_PATH = re.compile(r"at `\$\.(\w+)`")


def _env_name(field: str) -> str:
    return PREFIX + field.upper()


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from the environment (or ``environ``), then apply ``overrides``.

    Unknown ``VOISINS_*`` variables are refused too: a typo must not silently
    leave a default in place.
    """
    environ = os.environ if environ is None else environ
    fields = set(Settings.__struct_fields__)
    raw: dict[str, object] = {}
    for key, value in environ.items():
        if not key.startswith(PREFIX) or key.startswith(PREFIX + "TEST_"):
            continue
        field = key[len(PREFIX) :].lower()
        if field not in fields:
            raise SettingsError(key, value, "no such setting (see the README's table)")
        raw[field] = value
    raw.update(overrides)
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _PATH.search(message)
        field = match.group(1) if match else "?"
        expected = _EXPECTED.get(field) or _PATH.sub("", message).strip(" -").replace(
            "Expected ", ""
        )
        raise SettingsError(_env_name(field), str(raw.get(field)), expected) from None
    try:
        _networks(settings.webhook_allow_networks)
    except ValueError:
        raise SettingsError(
            _env_name("webhook_allow_networks"), settings.webhook_allow_networks,
            _EXPECTED["webhook_allow_networks"],
        ) from None  # fmt: skip
    try:
        settings.trusted_proxy_networks  # noqa: B018 - checked once, here
    except ValueError:
        raise SettingsError(
            _env_name("trusted_proxies"), settings.trusted_proxies, _EXPECTED["trusted_proxies"]
        ) from None
    if settings.environment == "production" and settings.secret_key == DEV_SECRET_KEY:
        raise SettingsError(_env_name("secret_key"), "(default)", "a secret of your own")
    return settings


def _networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip()]


# Friendlier wording than msgspec's for the fields whose rule is a regex or a choice.
_EXPECTED = {
    "environment": "one of development, test, production",
    "database_url": "a URL like postgresql://user:password@host:5432/database",
    "redis_url": "a URL like redis://host:6379/0",
    "public_base_url": "an http(s) URL like https://voisins.example.org",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR",
    "log_json": "true or false",
    "secure_cookies": "true or false",
    "secret_key": "a random string of at least 16 characters",
    "geocoder": "one of addok, ban, off",
    "addok_redis_url": "a URL like redis://host:6379/1",
    "trusted_proxies": "comma-separated IP addresses or CIDR blocks, like 10.0.0.0/8,::1",
    "metrics_token": "empty, or a random string of at least 16 characters without spaces",
    "webhook_allow_networks": "empty, or networks like 10.20.0.0/16, fd00:1::/64",
}

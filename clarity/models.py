import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """The last time a django-q2 worker on a host proved it runs tasks (for /readyz)."""

    host = models.CharField(max_length=255, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.host} at {self.last_seen:%Y-%m-%d %H:%M:%S}"


class OutboxMessage(models.Model):
    """One e-mail on its way out, kept until it is sent or given up on (`clarity.outbox`):
    a mail server that is down or not set up delays mail, never loses it or stops what
    queued it, and the alerts page can say why it has not left."""

    class Kind(models.TextChoices):
        APPROVAL = "approval", "approval"
        ALERT = "alert", "alert"
        DIGEST = "digest", "alert digest"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    recipients = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(
        default=0, help_text="Tries so far; waiting for EMAIL_URL is none."
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When it is due; while a worker sends it, its lease."
    )
    last_error = models.TextField(
        blank=True, help_text="Why the last try failed and what fixes it; never a secret."
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]
        permissions = [("retry_outboxmessage", "Can retry unsent e-mail")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} e-mail “{self.subject}” ({self.status})"


class UserPreference(models.Model):
    """What one person chose for their own pages: the time zone every time is shown in
    (`clarity.middleware.UserTimeZone`); without one, the installation's TIME_ZONE."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="An IANA zone such as Europe/Berlin; empty: the default.",
    )

    def __str__(self) -> str:
        return f"{self.user} in {self.time_zone or settings.TIME_ZONE}"


def hash_api_token(token: str) -> str:
    """SHA-256 of a token: tokens are 256 random bits, so a fast hash is enough (unlike a
    password, nothing short is there to guess) and the database never holds one readable."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A person's key to the REST API (`Authorization: Token <token>`), kept only as its
    SHA-256 with its first characters to recognise it by: a copy of the database signs no
    one in. The token itself is shown once, when it is made (`issue`)."""

    PREFIX_LENGTH = 8

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token"
    )
    prefix = models.CharField(
        max_length=PREFIX_LENGTH, help_text="The token's first characters, to recognise it by."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.user}'s API token {self.prefix}…"

    @classmethod
    def issue(cls, user: Any) -> str:
        """Replace the user's token with a new one and return it: the only time it is readable."""
        token = secrets.token_urlsafe(32)
        cls.objects.update_or_create(
            user=user,
            defaults={
                "prefix": token[: cls.PREFIX_LENGTH],
                "key_hash": hash_api_token(token),
                "created_at": timezone.now(),
            },
        )
        return token

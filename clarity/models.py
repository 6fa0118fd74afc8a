from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time a django-q2 worker on a host proved it runs tasks (for /readyz)."""

    host = models.CharField(max_length=255, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.host} at {self.last_seen:%Y-%m-%d %H:%M:%S}"

"""A flow's business rules, versioned (issue 19 item 7). Kept apart from flows/models.py,
which imports this module so Django finds the model.

Each save is a new `RuleSetVersion` with who, when and why; the newest is the one runs use,
so restoring an old version is saving its rules again. The rules themselves are a list of
plain records (see flows/rules.py for their shape and checks): people edit them in the
rules editor or the API, never as text."""

from django.conf import settings
from django.db import models


class RuleSetVersion(models.Model):
    """One saved state of a flow's rules for one pair."""

    flow_config = models.ForeignKey(
        "flows.FlowConfig", on_delete=models.CASCADE, related_name="rule_versions"
    )
    number = models.PositiveIntegerField()
    rules = models.JSONField(default=list, blank=True, help_text="The rules, in order.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    comment = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["flow_config", "number"], name="one_rule_version_number_per_flow"
            )
        ]
        ordering = ["flow_config", "-number"]

    def __str__(self) -> str:
        return f"Rules of {self.flow_config} v{self.number}"

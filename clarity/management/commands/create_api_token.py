from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from clarity.models import ApiToken


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print it: the only time it is shown (only its "
        "hash is kept). A user who has one keeps it unless --regenerate replaces it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--regenerate", action="store_true", help="Replace an existing token.")

    def handle(self, username: str, regenerate: bool, **options) -> None:
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        existing = ApiToken.objects.filter(user=user).first()
        if existing is not None and not regenerate:
            raise CommandError(
                f"{username} already has an API token (starting {existing.prefix}…), which "
                "cannot be shown again: only its hash is stored. Pass --regenerate to replace "
                "it (the old one stops working)."
            )
        self.stdout.write(ApiToken.issue(user))

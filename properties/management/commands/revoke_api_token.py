"""Revoke a REST API key by the prefix shown when it was created."""

from django.core.management.base import BaseCommand, CommandError

from properties.models import ApiToken
from properties.services import api_token_revoke


class Command(BaseCommand):
    help = "Revoke an API key, given its first 12 characters (e.g. lsk_AbCdEfGh)."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix: str, **options):
        tokens = ApiToken.objects.filter(prefix=prefix[:12], revoked_at__isnull=True)
        if tokens.count() != 1:
            raise CommandError(f"No single active key starts with {prefix!r}.")
        token = api_token_revoke(token=tokens.get())
        self.stdout.write(f"Revoked {token}.")

"""Create a REST API key for a host's user and print it once."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from properties.services import api_token_create


class Command(BaseCommand):
    help = "Create an API key for a user (by email or username); the key is printed only once."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The user's email or username.")
        parser.add_argument("--name", required=True, help="What the key is for.")

    def handle(self, *args, user: str, name: str, **options):
        users = get_user_model().objects.filter(Q(email__iexact=user) | Q(username__iexact=user))
        if users.count() != 1:
            raise CommandError(f"No single user has the email or username {user!r}.")
        try:
            token, key = api_token_create(user=users.get(), name=name)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stderr.write(f"API key {token.name!r} for {token.host} (shown once, store it now):")
        self.stdout.write(key)

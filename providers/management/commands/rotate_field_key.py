"""`manage.py rotate_field_key --new-key KEY` (or `--new-key-file PATH`): re-encrypt every stored
provider key under a new FIELD_ENCRYPTION_KEY, in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from providers.services import FieldKeyRotationError, provider_keys_reencrypt

MIN_KEY_LENGTH = 32


class Command(BaseCommand):
    help = "Re-encrypt all provider keys with a new FIELD_ENCRYPTION_KEY (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        # A file keeps the key out of shell history and `ps` output; prefer it in production.
        source.add_argument("--new-key", help="The new key (at least 32 characters).")
        source.add_argument("--new-key-file", type=Path, help="A file holding the new key.")
        parser.add_argument(
            "--old-key-file",
            type=Path,
            help="Read with this key instead of the configured FIELD_ENCRYPTION_KEY.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        new_key = options["new_key"]
        if options["new_key_file"] is not None:
            new_key = self._read_key(options["new_key_file"])
        old_key = None
        if options["old_key_file"] is not None:
            old_key = self._read_key(options["old_key_file"])
        new_key = (new_key or "").strip()
        if len(new_key) < MIN_KEY_LENGTH:
            raise CommandError(f"The new key must be at least {MIN_KEY_LENGTH} characters long.")
        try:
            count = provider_keys_reencrypt(new_secret=new_key, old_secret=old_key)
        except FieldKeyRotationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} provider key(s)."))
        self.stdout.write(
            "Next steps:\n"
            "  1. Set FIELD_ENCRYPTION_KEY (or FIELD_ENCRYPTION_KEY_FILE) to the new key in the\n"
            "     environment of every process: web, worker and beat.\n"
            "  2. Restart them all now. Until they restart, processes still holding the old key\n"
            "     cannot read provider keys (chats fail with a provider error).\n"
            "  3. Keep the old key only as long as you keep database backups taken before this\n"
            "     rotation (they still need it), then destroy it.\n"
        )

    def _read_key(self, path: Path | str) -> str:
        # call_command(...) passes keyword options as given, without argparse's `type=`.
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc

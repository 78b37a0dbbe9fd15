"""State only: ProviderKey and AIModel now belong to providers (providers/migrations/0001_initial.py), whose
models keep this app's tables. Nothing in the database changes."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0002_message_error_detail'),
        ('providers', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='AIModel'),
                migrations.DeleteModel(name='ProviderKey'),
            ],
            database_operations=[],
        ),
    ]

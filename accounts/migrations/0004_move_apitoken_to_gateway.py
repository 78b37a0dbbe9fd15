"""State only: ApiToken now belong to gateway (gateway/migrations/0001_initial.py), whose
models keep this app's tables. Nothing in the database changes."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_api_token'),
        ('gateway', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='ApiToken'),
            ],
            database_operations=[],
        ),
    ]

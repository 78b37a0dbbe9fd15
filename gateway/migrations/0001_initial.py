"""ApiToken moves here from accounts, keeping its table accounts_apitoken (created by accounts
0003) and its rows. accounts 0004 then forgets it."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _content_types_mover(old: str, new: str, names: tuple[str, ...]):
    """Carry the content types (and so permissions and admin history) over to the new app."""

    def move(apps, schema_editor):
        content_type = apps.get_model("contenttypes", "ContentType")
        rows = content_type.objects.using(schema_editor.connection.alias)
        for model in names:
            if not rows.filter(app_label=new, model=model).exists():
                rows.filter(app_label=old, model=model).update(app_label=new)

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0003_api_token'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are (db_table); only Django's idea of the model moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ApiToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('prefix', models.CharField(max_length=16)),
                        ('last4', models.CharField(max_length=4)),
                        ('secret_hash', models.CharField(max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('max_budget_usd', models.DecimalField(blank=True, decimal_places=9, max_digits=20, null=True)),
                        ('allowed_models', models.JSONField(blank=True, default=list)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to='accounts.organization')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'accounts_apitoken',
                        'indexes': [models.Index(fields=['organization', 'user', '-created_at'], name='accounts_ap_organiz_c738bf_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            _content_types_mover('accounts', 'gateway', ('apitoken',)),
            _content_types_mover('gateway', 'accounts', ('apitoken',)),
        ),
    ]

"""ProviderKey and AIModel move here from chat, keeping their tables chat_providerkey and
chat_aimodel (created by chat 0001) and their rows. chat 0003 then forgets them."""

import core.fields
import django.db.models.deletion
import django.utils.timezone
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
        ('accounts', '0001_initial'),
        ('chat', '0002_message_error_detail'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        # The tables stay where they are (db_table); only Django's idea of the model moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ProviderKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(choices=[('openai', 'OpenAI'), ('anthropic', 'Anthropic'), ('mistral', 'Mistral'), ('gemini', 'Google Gemini'), ('openai_compatible', 'OpenAI-compatible')], max_length=32)),
                        ('label', models.CharField(max_length=100)),
                        ('base_url', models.URLField(blank=True, max_length=500)),
                        ('api_key', core.fields.EncryptedTextField()),
                        ('key_last4', models.CharField(blank=True, max_length=4)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('rotated_at', models.DateTimeField(blank=True, null=True)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='provider_keys', to='accounts.organization')),
                    ],
                    options={
                        'db_table': 'chat_providerkey',
                    },
                ),
                migrations.CreateModel(
                    name='AIModel',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('model_id', models.CharField(max_length=200)),
                        ('name', models.CharField(max_length=200)),
                        ('input_usd_per_mtok', models.DecimalField(decimal_places=9, max_digits=20)),
                        ('output_usd_per_mtok', models.DecimalField(decimal_places=9, max_digits=20)),
                        ('cached_input_usd_per_mtok', models.DecimalField(blank=True, decimal_places=9, max_digits=20, null=True)),
                        ('cache_write_usd_per_mtok', models.DecimalField(blank=True, decimal_places=9, max_digits=20, null=True)),
                        ('max_output_tokens', models.PositiveIntegerField(blank=True, null=True)),
                        ('enabled', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='ai_models', to='accounts.organization')),
                        ('provider_key', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='models', to='providers.providerkey')),
                    ],
                    options={
                        'db_table': 'chat_aimodel',
                        'constraints': [models.UniqueConstraint(fields=('organization', 'model_id'), name='aimodel_unique_id_per_org')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            _content_types_mover('chat', 'providers', ('providerkey', 'aimodel')),
            _content_types_mover('providers', 'chat', ('providerkey', 'aimodel')),
        ),
    ]

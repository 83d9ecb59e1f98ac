from django.db import migrations, models
from django.db.models import F


def keys_published_sign(apps, schema_editor):
    """Keys made before rotation existed were published in the same zone change that
    created them: they sign from then on."""
    apps.get_model("domains", "DkimKey").objects.update(signing_since=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("domains", "0004_dkim_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="dkimkey",
            name="signing_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="dkimkey",
            name="retired_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(keys_published_sign, migrations.RunPython.noop),
    ]

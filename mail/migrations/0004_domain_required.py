from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0003_service_mail"),
    ]

    operations = [
        migrations.AlterField(
            model_name="mailservice",
            name="domain",
            field=models.CharField(max_length=253, unique=True, verbose_name="domain"),
        ),
    ]

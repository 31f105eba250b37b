from django.db import migrations

from dwh_export import sql


class Migration(migrations.Migration):
    dependencies = [
        ("dwh_export", "0001_initial"),
        ("ledger", "0005_posting_schemes"),
    ]

    operations = [migrations.RunSQL(sql.FORWARD, sql.REVERSE)]

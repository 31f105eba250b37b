from django.db import migrations

from ledger.sql import FUNCTIONS, FUNCTIONS_REVERSE


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunSQL(FUNCTIONS, FUNCTIONS_REVERSE)]

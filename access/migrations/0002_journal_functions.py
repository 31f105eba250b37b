from django.db import migrations

from access.sql import FUNCTIONS, FUNCTIONS_REVERSE


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial")]

    operations = [migrations.RunSQL(FUNCTIONS, FUNCTIONS_REVERSE)]

"""Load the deployment's dated payroll parameters (payroll/data/parameters.csv) so every
database has 2025 and 2026 figures from the start; administrators add later years in the admin."""

from django.db import migrations


def load(apps, schema_editor):
    from payroll.services import load_parameters

    load_parameters(model=apps.get_model("payroll", "PayrollParameter"))


class Migration(migrations.Migration):
    dependencies = [("payroll", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

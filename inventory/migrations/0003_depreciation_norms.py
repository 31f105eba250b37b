from django.db import migrations


def load(apps, schema_editor):
    from inventory.loading import load_norms

    load_norms(apps.get_model("inventory", "DepreciationNorm"))


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_tenant_keys")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

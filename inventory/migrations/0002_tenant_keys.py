"""Tenant isolation in the database (architecture invariant 5): an asset may only name a
location, a responsible person and a grant of its own institution, and an operation only an
asset of its own institution. Composite foreign keys on (x_id, institution_id) refuse the rest."""

from django.db import migrations

KEYS = [
    ("inventory_asset", "location_id", "inventory_location"),
    ("inventory_asset", "responsible_id", "inventory_responsibleperson"),
    ("inventory_asset", "grant_id", "inventory_tiedgrant"),
    ("inventory_assetoperation", "asset_id", "inventory_asset"),
]


def forward_sql():
    return [
        f"ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_tenant_fk FOREIGN KEY ({column}, institution_id) "
        f"REFERENCES {target} (id, institution_id) DEFERRABLE INITIALLY IMMEDIATE"
        for table, column, target in KEYS
    ]


def backward_sql():
    return [f"ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_tenant_fk" for table, column, _t in KEYS]


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunSQL(forward, backward) for forward, backward in zip(forward_sql(), backward_sql())]

"""Electronic inventory: assets, operations, labels, counts."""

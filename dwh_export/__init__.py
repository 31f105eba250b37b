"""Export to the central warehouse БО ДБҚ: outbox, delivery, reconciliation."""

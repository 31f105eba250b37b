"""Domain events that cross apps without making one import the other.

Receivers run inside the sender's transaction (Django signals are synchronous), so what a
receiver writes (an outbox row, say) commits or rolls back with the event itself.
"""

from django.dispatch import Signal

# Sent by reporting's approval service when a statement becomes approved, inside the approving
# transaction. Keyword arguments: institution (access.Institution), form (e.g. "FO-1"),
# period_start and period_end (dates), version (int), payload (dict: the statement's lines
# as JSON-ready values, amounts as strings).
statement_approved = Signal()

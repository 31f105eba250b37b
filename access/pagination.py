"""The API's pagination with bounds: a page holds at most MAX_LIMIT rows and an offset beyond
any possible table is refused as "no rows" rather than reaching the database as an overflow."""

from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 2**53  # far beyond any table, well inside bigint


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 1000

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_OFFSET)

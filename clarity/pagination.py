"""API pages with a ceiling: `?limit=` asks for at most MAX_LIMIT rows (ASVS V4), so one
request cannot make the server build a reply of every run ever made."""

from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 500


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

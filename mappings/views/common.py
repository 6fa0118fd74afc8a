"""What the designer pages share: their rule, and reading JSON posted by the page."""

from clarity.permissions import RuleRequiredMixin, reads_writes

VIEW_MAPPING = "mappings.view_mapping"
CHANGE_MAPPING = "mappings.change_mapping"


class ReadWriteMixin(RuleRequiredMixin):
    """A mapping page: looking needs the mapping's view permission, anything else (saving,
    restoring) its change permission. Pages with another rule declare their own."""

    permission = reads_writes(VIEW_MAPPING, CHANGE_MAPPING)

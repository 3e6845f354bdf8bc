"""Every conformance operation by name: the core ones, the group-state ones and the attachment ones.

Kept apart from the operations themselves so that imports flow one way (registry -> operations -> library).
"""

from __future__ import annotations

from .conformance_attachment import OPS as ATTACHMENT_OPS
from .conformance_group import OPS as GROUP_OPS
from .conformance_ops import OPS as CORE_OPS
from .conformance_ops import Handler


def all_ops() -> dict[str, Handler]:
    return CORE_OPS | GROUP_OPS | ATTACHMENT_OPS

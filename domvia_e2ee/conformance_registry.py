"""Every conformance operation by name: the core ones, the group-state ones, the attachment ones and the users' ones.

Kept apart from the operations themselves so that imports flow one way (registry -> operations -> library).
"""

from __future__ import annotations

from .conformance_attachment import OPS as ATTACHMENT_OPS
from .conformance_group import OPS as GROUP_OPS
from .conformance_ops import OPS as CORE_OPS
from .conformance_ops import Handler
from .conformance_backup import OPS as BACKUP_OPS
from .conformance_users import OPS as USERS_OPS


def all_ops() -> dict[str, Handler]:
    return CORE_OPS | GROUP_OPS | ATTACHMENT_OPS | USERS_OPS | BACKUP_OPS

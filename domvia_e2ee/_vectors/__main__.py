"""python -m domvia_e2ee._vectors write|check|pin-xwing|pin-backup"""

from __future__ import annotations

import sys

from . import VECTORS_DIR, generate


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "pin-xwing":
        from .pinned import write_pinned

        write_pinned()
        return 0
    if command == "pin-backup":
        from .backups import write_pinned_backup

        write_pinned_backup()
        return 0
    rendered = generate()
    if command == "write":
        VECTORS_DIR.mkdir(exist_ok=True)
        for name, data in rendered.items():
            (VECTORS_DIR / name).write_bytes(data)
        print(f"wrote {len(rendered)} files to {VECTORS_DIR}")
        return 0
    if command == "check":
        stale = [n for n, d in rendered.items() if not (VECTORS_DIR / n).exists() or (VECTORS_DIR / n).read_bytes() != d]
        for name in stale:
            print(f"vectors/{name} differs from regeneration")
        return 1 if stale else 0
    print("usage: python -m domvia_e2ee._vectors write|check|pin-xwing|pin-backup", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

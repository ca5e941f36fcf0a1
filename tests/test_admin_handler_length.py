"""Admin page handlers read in one sitting: a coroutine in admin/web that takes the request
gathers (queries live in admin/ modules) and renders (tables and page contexts are built by
functions of their own), in at most MAX_LINES lines, like the views of aiohttp-demos' polls."""

from __future__ import annotations

import ast
from pathlib import Path

ADMIN_WEB = Path(__file__).resolve().parent.parent / "admin" / "web"
MAX_LINES = 40


def long_handlers(root: Path, limit: int) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.AsyncFunctionDef) or not node.args.args:
                continue
            if node.args.args[0].arg != "request":
                continue
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > limit:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {lines} lines")
    return found


def test_every_admin_handler_fits_in_forty_lines() -> None:
    assert long_handlers(ADMIN_WEB, MAX_LINES) == []


def test_the_check_sees_handlers_and_only_them(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "pages.py").write_text(
        f"async def page(request):\n{body}\n"
        f"async def job(session):\n{body}\n"
        f"def table(request):\n{body}\n"
        f"async def short(request):\n    return None\n",
        encoding="utf-8",
    )
    found = long_handlers(tmp_path, MAX_LINES)
    assert len(found) == 1 and found[0].endswith(f"page: {MAX_LINES + 1} lines")

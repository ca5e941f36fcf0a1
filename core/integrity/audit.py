"""The auditor's verifier of a ledger export, and the hashing rules the ledger is built on.

Standalone on purpose: it imports nothing but the standard library, so an auditor can copy this
one file and run `python audit.py ledger-2025.jsonl` (or `qanagat ledger verify --file ...`)
without the system, its database or its secret. docs/ledger.md describes the format.

    content_hash = sha256(canonical JSON of the anonymous response)
    entry_hash   = sha256(prev_hash + content_hash + str(seq))   (hex digests, ASCII)

The first entry's prev_hash is GENESIS (64 zeros).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "qanagat-ledger/1"
GENESIS = "0" * 64


def canonical_json(content: Mapping[str, Any]) -> bytes:
    """Keys sorted at every level, no spaces, UTF-8 (not \\u escapes), no NaN."""
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def content_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def entry_hash(prev_hash: str, content_digest: str, seq: int) -> str:
    return hashlib.sha256(f"{prev_hash}{content_digest}{seq}".encode("ascii")).hexdigest()


def head_path(export: Path) -> Path:
    """Where the head file of an export lives: `ledger-2025.jsonl` -> `ledger-2025.head.json`."""
    return export.with_name(export.name.removesuffix(".jsonl") + ".head.json")


@dataclass(frozen=True)
class AuditResult:
    entries: int
    first_seq: int | None
    last_seq: int | None
    head_hash: str | None
    problem: str | None  # the first thing that does not match, None when all do

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_lines(lines: Iterable[str], head: Mapping[str, Any] | None) -> AuditResult:
    """Re-check an export line by line: consecutive sequence numbers, each entry linked to the
    one before, each content hash recomputed from the content, each entry hash recomputed,
    and the last entry equal to the head file's head."""
    first: int | None = None
    last: int | None = None
    prev: str | None = None
    count = 0

    def result(problem: str | None) -> AuditResult:
        return AuditResult(count, first, last, prev, problem)

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            seq, content = int(entry["seq"]), entry["content"]
            stored_content, stored_prev = str(entry["content_hash"]), str(entry["prev_hash"])
            stored_entry = str(entry["entry_hash"])
        except (ValueError, KeyError, TypeError, OverflowError) as error:  # "seq": Infinity
            return result(f"line {number}: unreadable ({error})")
        where = f"line {number}: entry {seq}"
        if last is None:
            first = seq
            if head is not None and stored_prev != head.get("anchor_prev_hash"):
                return result(f"{where} does not start at the head file's anchor")
        elif seq != last + 1:
            return result(f"line {number}: entry {last + 1} expected, found {seq}")
        elif stored_prev != prev:
            return result(f"{where} does not link to entry {last} (inserted or reordered)")
        try:
            content_ok = content_hash(content) == stored_content
            entry_ok = entry_hash(stored_prev, stored_content, seq) == stored_entry
        except (ValueError, TypeError):  # NaN in the content, non-ASCII in a hash: not ours
            return result(f"{where}: unreadable content or hashes")
        if not content_ok:
            return result(f"{where}: the content does not match its hash (edited)")
        if not entry_ok:
            return result(f"{where}: the entry hash does not match")
        prev, last, count = stored_entry, seq, count + 1
    if head is not None:
        if head.get("entries") != count:
            return result(f"the head file says {head.get('entries')} entries, found {count}")
        if count and (head.get("head_hash") != prev or head.get("last_seq") != last):
            return result("the last entry is not the head file's head (entries cut off?)")
    return result(None)


def verify_file(export: Path) -> AuditResult:
    """Verify an export and, when it lies beside it, its head file."""
    head_file = head_path(export)
    head = json.loads(head_file.read_text(encoding="utf-8")) if head_file.exists() else None
    if head is not None and not isinstance(head, dict):
        return AuditResult(0, None, None, None, f"{head_file.name}: not a head record")
    with export.open(encoding="utf-8") as lines:
        return verify_lines(lines, head)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python audit.py LEDGER_EXPORT.jsonl", file=sys.stderr)
        return 2
    result = verify_file(Path(argv[0]))
    if result.ok:
        span = f"{result.first_seq}..{result.last_seq}"
        print(f"ok: {result.entries} entries, {span}, head {result.head_hash}")
        return 0
    print(f"MISMATCH: {result.problem}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Summarize py-spy collapsed stacks (`--format raw`), as written by `bench.lodging --py-spy DIR`.

    .venv/bin/python -m bench.stacks DIR/postgresql-lodge-r1.txt [--under 'lodge (smartcustoms/web/api/declarations.py'] [--top 30]

Prints where the sampled (non-idle) time goes: inclusive share per function (each function counted
once per stack, line numbers dropped) and the heaviest leaf frames.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(.*) (\d+)$")
_FRAME = re.compile(r"^(.*?) \((.*?)(?::\d+)?\)$")


def _name(frame: str) -> str:
    m = _FRAME.match(frame)
    return f"{m[1]} ({m[2]})" if m else frame


def load(paths: list[Path]) -> list[tuple[list[str], int]]:
    stacks = []
    for path in paths:
        for line in path.read_text().splitlines():
            m = _LINE.match(line)
            if m:
                stacks.append((m[1].split(";"), int(m[2])))
    return stacks


def summarize(stacks: list[tuple[list[str], int]], *, under: str | None, top: int) -> str:
    total = sum(n for _, n in stacks)
    if under:
        stacks = [(s, n) for s, n in stacks if any(under in f for f in s)]
    part = sum(n for _, n in stacks)
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    for frames, n in stacks:
        for name in {_name(f) for f in frames}:
            inclusive[name] += n
        leaf[_name(frames[-1])] += n
    out = [f"samples: {total} in all, {part} selected" + (f" (stacks through {under!r})" if under else "")]
    out.append(f"\ninclusive (% of selected), top {top}:")
    out += [f"  {n / part * 100:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    out.append(f"\nleaf frames (% of selected), top {top}:")
    out += [f"  {n / part * 100:5.1f}%  {name}" for name, n in leaf.most_common(top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stacks", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--under", help="keep only stacks with a frame containing this text")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    stacks = load(args.files)
    if not stacks:
        parser.error("no stacks found")
    print(summarize(stacks, under=args.under, top=args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

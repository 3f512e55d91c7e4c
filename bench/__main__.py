"""`python -m bench`: build the data, run the cases, print a table, write results.json.

    python -m bench                          # the report's run: 100k and 1M posts
    python -m bench --sizes 100000,1000000   # the same, explicitly
    python -m bench --quick                  # small sizes, ~1.5 minutes (CI smoke)
    python -m bench --cases digest,memory    # some cases, reusing stores already built
    python -m bench --cases embed,semantic_digest,semantic_grouping   # the embedding cases

Generated data and stores live in bench/out/ (git-ignored); see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    case_digest,
    case_embed,
    case_grouping,
    case_hostile,
    case_import,
    case_llm,
    case_memory,
    case_parse,
    case_postgres,
    case_semantic_digest,
    case_semantic_grouping,
)
from bench.common import Context, Row, human, machine, remove_db
from bench.data import REPO, build_dataset

CASES = {
    "import": case_import,
    "digest": case_digest,
    "grouping": case_grouping,
    "llm": case_llm,
    "parse": case_parse,
    "memory": case_memory,
    "hostile": case_hostile,
    "embed": case_embed,
    "semantic_digest": case_semantic_digest,
    "semantic_grouping": case_semantic_grouping,
    "postgres": case_postgres,
}
NEEDS_STORES = {"digest", "grouping", "memory", "semantic_digest", "semantic_grouping"}
DEFAULT_SIZES = "100000,1000000"
QUICK_SIZES = "3000,12000"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", help=f"post counts, comma-separated (default {DEFAULT_SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}, few repeats")
    parser.add_argument("--cases", default=",".join(CASES), help="which cases, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="import runs per size ≤ 200k")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out", help="work folder")
    parser.add_argument("--results", type=Path, help="results file (default bench/results.json)")
    args = parser.parse_args(argv)
    args.sizes = sorted(
        {int(s) for s in (args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)).split(",")}
    )
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; known: {', '.join(CASES)}")
    if args.results is None:
        name = "results-quick.json" if args.quick else "results.json"
        args.results = (args.out / name) if args.quick else REPO / "bench" / name
    if args.quick:
        args.repeat = 1
    return args


def ensure_stores(ctx: Context) -> None:
    """Stores for the cases that read one: built by the real import path unless present."""
    from bot.ingest.importer import import_paths
    from bot.store import open_store

    for size in ctx.sizes:
        data = ctx.datasets.setdefault(size, build_dataset(size, ctx.out))
        db = ctx.out / f"store-{size}.db"
        stamp = ctx.out / f"store-{size}.json"
        manifest = (data.folder / "manifest.json").read_text()
        if size in ctx.stores:
            stamp.write_text(manifest)
            continue
        if db.exists() and stamp.exists() and stamp.read_text() == manifest:
            ctx.stores[size] = db
            continue
        print(f"  building the {human(size)} store (real import path)…", flush=True)
        remove_db(db)

        async def build(path: Path = db, files: list[Path] = data.files) -> None:
            store = await open_store(path)
            try:
                await import_paths(store, files)
            finally:
                await store.close()

        asyncio.run(build())
        stamp.write_text(manifest)
        ctx.stores[size] = db


def table(rows: list[Row]) -> str:
    head = ["case", "size", "measure", "wirebrief", "baseline", "ratio", "target", "met"]
    body = [
        [
            r.case, r.size, r.measure, r.value, r.baseline,
            "" if r.ratio is None else f"{r.ratio:.2f}", r.target,
            "" if r.met is None else ("yes" if r.met else "NO"),
        ]
        for r in rows
    ]  # fmt: skip
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(b) for b in body)])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    ctx = Context(out=args.out, sizes=args.sizes, quick=args.quick, repeat=args.repeat)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "command": " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": args.sizes,
        "quick": args.quick,
        "cases": {},
    }
    rows: list[Row] = []
    print(f"bench: sizes {', '.join(human(s) for s in args.sizes)}; data in {args.out}", flush=True)
    for size in args.sizes:
        ctx.datasets[size] = build_dataset(size, args.out)
    for name in args.cases:
        if name in NEEDS_STORES:
            ensure_stores(ctx)
        print(f"[{name}]", flush=True)
        case_start = time.perf_counter()
        module = CASES[name]
        skip = getattr(module, "skip_reason", lambda: None)()
        if skip:
            print(f"  skipped: {skip}", flush=True)
            results["cases"][name] = {"skipped": skip}
            rows.append(Row(name, "", "skipped", skip))
            continue
        outcome = module.run(ctx)
        seconds = time.perf_counter() - case_start
        results["cases"][name] = {
            "seconds": round(seconds, 1),
            "rows": [r.as_dict() for r in outcome["rows"]],
            "details": outcome["details"],
        }
        rows.extend(outcome["rows"])
        print(f"  ({seconds:.1f} s)", flush=True)
        if name == "import":
            ensure_stores(ctx)  # stamps the stores the import built
    results["seconds"] = round(time.perf_counter() - started, 1)
    print()
    print(table(rows))
    print(f"\n{results['seconds']:.0f} s in all; results in {args.results}")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(
        json.dumps(merged(args.results, results), ensure_ascii=False, indent=2) + "\n"
    )
    return 0


def merged(path: Path, results: dict[str, Any]) -> dict[str, Any]:
    """A run of some cases updates those cases; the others' figures stay in the file
    (each case records its own time, and the file says which command produced which)."""
    if not path.exists():
        return results
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return results
    if previous.get("sizes") != results["sizes"] or previous.get("quick") != results["quick"]:
        return results
    cases = dict(previous.get("cases", {}))
    cases.update(results["cases"])
    runs = previous.get("runs") or [
        {k: previous.get(k) for k in ("command", "started_at", "seconds")}
    ]
    runs.append({k: results[k] for k in ("command", "started_at", "seconds")})
    return {**results, "cases": cases, "runs": runs}


if __name__ == "__main__":
    raise SystemExit(main())

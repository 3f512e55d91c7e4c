"""Bench data: the shared corpus replicated with perturbations to a requested size.

Replica k of the corpus gets new channels (peer id, title), new message ids, small text
edits (so reposts stay near-duplicates) and its dates shifted by k weeks, wrapped around a
span of `replicas` weeks. Every week of the span then holds, in aggregate, one week's worth
of the whole corpus (17,244 posts: about 2,460 posts and 15 `belarus` posts a day, what ~95
channels write), whatever the size: a 1M store is a longer history, not a denser one, so a
digest window has the same realistic density in the 100k and the 1M store. Copies of one
post sit whole weeks apart, so no 7-day window holds two of them.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WIREBRIEF_SHARED", REPO.parent / "shared"))
CORPUS_DIR = SHARED / "corpus" / "ru-news-2024"
TME_DIR = SHARED / "fixtures" / "tme"

GENERATOR_VERSION = 1
SHIFT = timedelta(days=7)
"""How far apart replicas are placed: one week of corpus per week of span."""
EPOCH = datetime(2023, 1, 2, tzinfo=UTC)
"""Start of the replicated span (a Monday); replica dates fold into [EPOCH, EPOCH + span)."""
MESSAGE_ID_STRIDE = 1_000_000
PEER_STRIDE = 10_000_000_000

_MARKS = ("⚡️ ", "❗️ ", "🔴 ", "Срочно: ", "")
_TAILS = ("\n\n#новости", "\n\nПодписаться", " (видео)", " — источник", "")


@dataclass(frozen=True, slots=True)
class Dataset:
    """Generated import files of one size, and the span their dates cover."""

    size: int
    folder: Path
    files: list[Path]
    replicas: int
    since: datetime
    until: datetime


def load_corpus(folder: Path = CORPUS_DIR) -> list[dict[str, Any]]:
    """Every post of the shared corpus, in a stable order."""
    if not folder.is_dir():
        raise SystemExit(f"bench: the shared corpus is not at {folder} (set WIREBRIEF_SHARED)")
    posts: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        posts.extend(json.loads(path.read_text(encoding="utf-8")))
    return posts


def perturb_text(text: str, rng: random.Random) -> str:
    """A small edit a repost or a rewrite makes: a mark in front, a tag at the end, two
    neighbouring words swapped. Names and topic words survive."""
    roll = rng.random()
    if roll < 0.35:
        return text
    if roll < 0.55:
        return rng.choice(_MARKS) + text
    if roll < 0.75:
        return text + rng.choice(_TAILS)
    words = text.split(" ")
    if len(words) > 6:
        i = rng.randrange(1, len(words) - 2)
        words[i], words[i + 1] = words[i + 1], words[i]
        return " ".join(words)
    return text.replace(". ", ".  ", 1)


def replica_records(
    corpus: list[dict[str, Any]], k: int, replicas: int, take: int, seed: int
) -> Iterator[dict[str, Any]]:
    """Replica `k`: `take` posts of the corpus (all of it but for the last replica)."""
    rng = random.Random(seed * 1_000_003 + k)
    span = SHIFT * replicas
    chosen = corpus if take >= len(corpus) else rng.sample(corpus, take)
    for record in chosen:
        peer = int(str(-record["sender_id"])[3:])  # -100<peer> -> <peer>
        date = datetime.fromisoformat(record["date"])
        folded = EPOCH + (date - EPOCH + SHIFT * k) % span
        title = record.get("channel") or "channel"
        yield {
            "message_id": record["message_id"] + MESSAGE_ID_STRIDE * k,
            "sender_id": -int(f"100{peer + PEER_STRIDE * k}"),
            "channel": title if k == 0 else f"{title} · r{k}",
            "date": folded.isoformat(),
            "text": perturb_text(record["text"], rng),
            "views": int(rng.lognormvariate(8, 1.2)),
        }


def build_dataset(size: int, out: Path, seed: int = 7) -> Dataset:
    """The import files for `size` posts under `out`, reused when already generated."""
    corpus = load_corpus()
    replicas = max(1, math.ceil(size / len(corpus)))
    folder = out / f"data-{size}"
    manifest = folder / "manifest.json"
    meta = {"size": size, "seed": seed, "version": GENERATOR_VERSION, "corpus": len(corpus)}
    files = [
        folder / f"replica-{k:03d}.{'jsonl' if k % 2 == 0 else 'json'}" for k in range(replicas)
    ]
    span = (EPOCH, EPOCH + SHIFT * replicas)
    if manifest.exists() and json.loads(manifest.read_text()) == meta:
        return Dataset(size, folder, files, replicas, *span)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("replica-*"):
        old.unlink()
    left = size
    for k, path in enumerate(files):
        take = min(len(corpus), left)
        left -= take
        records = replica_records(corpus, k, replicas, take, seed)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            if path.suffix == ".jsonl":  # JSON Lines, the streamed path
                for record in records:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:  # a JSON array, the whole-document path
                json.dump(list(records), handle, ensure_ascii=False)
        tmp.replace(path)
    manifest.write_text(json.dumps(meta))
    return Dataset(size, folder, files, replicas, *span)


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of one generated file (for the plain-sqlite3 baseline)."""
    with path.open(encoding="utf-8") as handle:
        if path.suffix == ".jsonl":
            for line in handle:
                if line.strip():
                    yield json.loads(line)
        else:
            yield from json.load(handle)

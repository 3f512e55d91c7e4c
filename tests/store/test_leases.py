"""Leases on both backends: one holder at a time, renewed while alive, free when expired."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.store import Store

T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
"""Later than any source added while the tests run (added sources are due at once)."""
LEASE = timedelta(seconds=60)


async def test_a_due_source_is_claimed_by_one_worker_until_released_or_expired(
    store: Store,
) -> None:
    for name in ("alpha_wire", "beta_wire", "gamma_wire"):
        await store.add_source(name)
    a = await store.claim_due_sources("A", T0, T0 + LEASE, limit=2)
    b = await store.claim_due_sources("B", T0, T0 + LEASE, limit=5)
    assert len(a) == 2 and len(b) == 1
    assert not {s.id for s in a} & {s.id for s in b}
    assert await store.claim_due_sources("B", T0, T0 + LEASE) == []  # all held
    await store.release_source(a[0].id, "B")  # not B's: nothing changes
    assert await store.claim_due_sources("B", T0, T0 + LEASE) == []
    await store.release_source(a[0].id, "A")
    assert [s.id for s in await store.claim_due_sources("B", T0, T0 + LEASE)] == [a[0].id]
    # A renews its other source; B's lapse: after the lease time C gets only B's.
    assert await store.renew_source_leases("A", [a[1].id, b[0].id], T0 + 2 * LEASE) == {a[1].id}
    later = T0 + LEASE + timedelta(seconds=1)
    taken = await store.claim_due_sources("C", later, later + LEASE)
    assert sorted(s.id for s in taken) == sorted([b[0].id, a[0].id])


async def test_a_source_not_due_is_not_claimed(store: Store) -> None:
    source, _ = await store.add_source("alpha_wire")
    await store.record_poll_success(source.id, None, 10, 1, T0, T0 + timedelta(minutes=5))
    assert await store.claim_due_sources("A", T0, T0 + LEASE) == []
    soon = T0 + timedelta(minutes=5)
    assert [s.id for s in await store.claim_due_sources("A", soon, soon + LEASE)] == [source.id]


async def test_claims_made_at_once_never_share_a_source(store: Store) -> None:
    for n in range(12):
        await store.add_source(f"wire_{n:02d}")
    claims = await asyncio.gather(
        *(store.claim_due_sources(w, T0, T0 + LEASE, limit=4) for w in "ABCD")
    )
    ids = [s.id for claim in claims for s in claim]
    assert len(ids) == len(set(ids)) == 12


async def test_the_scheduler_lease_has_one_holder_and_expires(store: Store) -> None:
    assert await store.acquire_lease("scheduler", "A", T0, T0 + LEASE)
    assert not await store.acquire_lease("scheduler", "B", T0, T0 + LEASE)
    assert await store.acquire_lease("scheduler", "A", T0, T0 + 2 * LEASE)  # renewed
    assert not await store.acquire_lease("scheduler", "B", T0 + LEASE, T0 + 2 * LEASE)
    assert await store.lease_holder("scheduler", T0) == "A"
    late = T0 + 2 * LEASE
    assert await store.acquire_lease("scheduler", "B", late, late + LEASE)  # A stopped renewing
    assert await store.lease_holder("scheduler", late) == "B"
    await store.release_lease("scheduler", "A")  # not A's any more: nothing changes
    assert await store.lease_holder("scheduler", late) == "B"
    await store.release_lease("scheduler", "B")
    assert await store.lease_holder("scheduler", late) is None

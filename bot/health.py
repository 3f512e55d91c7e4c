"""`wirebrief health`: is the database usable and is polling alive? For HEALTHCHECKs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.store import Store
from bot.store.base import migrations


@dataclass(slots=True)
class HealthReport:
    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def check_health(store: Store, now: datetime, max_poll_age: timedelta) -> HealthReport:
    """Healthy when the schema is current and, if channels are polled, one succeeded lately."""
    report = HealthReport()
    latest = max(version for version, _, _ in migrations())
    version = await store.db.schema_version()
    if version != latest:
        report.problems.append(f"database schema is version {version}, expected {latest}")
    report.facts.append(f"posts stored: {await store.count_posts()}")
    web = [s for s in await store.sources() if s.kind == "web"]
    if web:
        successes = [s.last_success_at for s in web if s.last_success_at is not None]
        if not successes:
            first_added = now - max_poll_age  # a fresh install gets one interval of grace
            report.facts.append("no successful poll yet")
            if all(s.last_poll_at is not None and s.last_poll_at < first_added for s in web):
                report.problems.append("no source has ever been polled successfully")
        else:
            last = max(successes)
            age = now - last
            report.facts.append(f"last successful poll {int(age.total_seconds())} s ago")
            if age > max_poll_age:
                report.problems.append(
                    f"no successful poll for {int(age.total_seconds() // 60)} min "
                    f"(limit {int(max_poll_age.total_seconds() // 60)} min)"
                )
        healthy = sum(1 for s in web if s.status == "ok")
        report.facts.append(f"sources ok: {healthy} of {len(web)}")
    return report

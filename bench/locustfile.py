"""The mixed traffic of bench/load.py, as a locust user (run by bench/load.py, headless).

Each simulated person is one signed-in volunteer or resident of the enlarged demo
(bench/loaddata.py: tokens made before the run, read from the JSON file named by
``BENCH_LOAD_TOKENS``), and sends one request per second at a moment of the second
of their own, so the rate is the number of users and arrivals are spread as
independent people's are. Two people in three are volunteers.

- volunteer: open posts nearby 40 %, my propositions 30 %, my inbox 20 %, /me 8 %,
  mark my inbox read 2 % (a write);
- resident: open posts nearby 30 %, /me 25 %, my inbox 20 %, my posts 15 %,
  publish a request 10 % (a write: the matcher runs and proposes it in the same
  transaction).

About 5 % of all requests are writes. Any answer that is not 2xx counts as a failure.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import FastHttpUser, task

with open(os.environ["BENCH_LOAD_TOKENS"], encoding="utf-8") as _file:
    POPULATION: dict[str, Any] = json.load(_file)
HOME: tuple[float, float] = tuple(POPULATION["home"])  # type: ignore[assignment]
VOLUNTEER_SHARE = 2 / 3
RADII_KM = (1, 2, 3, 5)
PUBLISHED_CATEGORIES = ("courses", "aide_numerique", "bricolage_jardinage", "echange_savoirs")

VOLUNTEER_MIX = (("nearby", 40), ("propositions", 30), ("inbox", 20), ("me", 8), ("read", 2))
RESIDENT_MIX = (("nearby", 30), ("me", 25), ("inbox", 20), ("my_posts", 15), ("publish", 10))


def near_home(rng: random.Random, km: float) -> tuple[float, float]:
    """A uniform point within ``km`` of the neighbourhood."""
    r = km * math.sqrt(rng.random())
    theta = rng.uniform(0, 2 * math.pi)
    lat = HOME[1] + r * math.sin(theta) / 111.32
    lon = HOME[0] + r * math.cos(theta) / (111.32 * math.cos(math.radians(HOME[1])))
    return round(lon, 6), round(lat, 6)


class Neighbour(FastHttpUser):
    def on_start(self) -> None:
        self.rng = random.Random()  # traffic, not secrets
        # People act independently: each at a moment of the second of their own. Locust
        # starts a whole spawn step at once, and its constant_throughput keeps every
        # person on the schedule of that start: everyone then sent at the same instant
        # each second (a burst of the whole rate, queued behind itself), measured at
        # 354 of 400 requests within the same tenth of a second.
        self.next_at = time.monotonic() + self.rng.random()
        volunteer = self.rng.random() < VOLUNTEER_SHARE
        tokens = POPULATION["volunteers" if volunteer else "residents"]
        self.headers = {"Authorization": f"Bearer {self.rng.choice(tokens)}"}
        mix = VOLUNTEER_MIX if volunteer else RESIDENT_MIX
        self.actions = [name for name, _ in mix]
        self.weights = [weight for _, weight in mix]

    def wait_time(self) -> float:
        """Once a second, at this person's own phase (skipping a turn if late)."""
        now = time.monotonic()
        while self.next_at < now:
            self.next_at += 1.0
        return self.next_at - now

    @task
    def act(self) -> None:
        action = self.rng.choices(self.actions, self.weights)[0]
        getattr(self, action)()

    def nearby(self) -> None:
        lon, lat = near_home(self.rng, 2.0)
        self.client.get(
            f"/api/v1/posts?lon={lon}&lat={lat}&radius_km={self.rng.choice(RADII_KM)}",
            headers=self.headers,
            name="GET /api/v1/posts (nearby)",
        )

    def propositions(self) -> None:
        self.client.get("/api/v1/me/propositions", headers=self.headers)

    def inbox(self) -> None:
        self.client.get("/api/v1/me/notifications", headers=self.headers)

    def me(self) -> None:
        self.client.get("/api/v1/me", headers=self.headers)

    def my_posts(self) -> None:
        self.client.get("/api/v1/me/posts", headers=self.headers)

    def read(self) -> None:
        self.client.post("/api/v1/me/notifications/read", headers=self.headers)

    def publish(self) -> None:
        lon, lat = near_home(self.rng, 2.0)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(
            days=self.rng.randint(1, 6), hours=self.rng.randint(0, 8)
        )
        self.client.post(
            "/api/v1/posts",
            json={
                "kind": "request",
                "category": self.rng.choice(PUBLISHED_CATEGORIES),
                "title": "Un coup de main, s'il vous plaît",
                "description": "Demande envoyée par le banc d'essai de charge.",
                "location": {"lon": lon, "lat": lat},
                "schedule": {
                    "type": "once",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=2)).isoformat(),
                },
            },
            headers=self.headers,
        )

"""The in-process registry of running generations (asyncio tasks), keyed by assistant message id.

A generation belongs to the ASGI process that started it (STYLE rule 7): `generation.stop` can
cancel it only here, and `shutdown_generations` settles everything in it before the process exits.
Anything a dead process leaves behind is settled by the billing reaper.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

from core.metrics import ACTIVE_GENERATIONS

GenerationKind = Literal["chat", "title", "api"]


@dataclass(frozen=True)
class RegisteredGeneration:
    key: str
    task: asyncio.Task[Any]
    user_id: int
    kind: GenerationKind
    message_id: int | None


class GenerationRegistry:
    def __init__(self) -> None:
        self._entries: dict[str, RegisteredGeneration] = {}

    @staticmethod
    def message_key(message_id: int) -> str:
        return f"message:{message_id}"

    def add(
        self,
        *,
        key: str,
        task: asyncio.Task[Any],
        user_id: int,
        kind: GenerationKind,
        message_id: int | None = None,
    ) -> None:
        entry = RegisteredGeneration(key, task, user_id, kind, message_id)
        self._entries[key] = entry
        # The gauge moves here, where every generation passes, so each web process's count is
        # current when any of them is scraped (multiprocess mode adds them up).
        running = ACTIVE_GENERATIONS.labels(kind=kind)
        running.inc()

        def _forget(_task: asyncio.Task[Any]) -> None:
            running.dec()
            if self._entries.get(key) is entry:
                del self._entries[key]

        task.add_done_callback(_forget)

    def for_message(self, message_id: int) -> RegisteredGeneration | None:
        entry = self._entries.get(self.message_key(message_id))
        return entry if entry is not None and not entry.task.done() else None

    def count_for_user(self, user_id: int, *, kind: GenerationKind = "chat") -> int:
        return sum(
            1
            for e in self._entries.values()
            if e.user_id == user_id and e.kind == kind and not e.task.done()
        )

    def running(self) -> list[RegisteredGeneration]:
        """Generations of the current event loop that have not finished."""
        loop = asyncio.get_running_loop()
        return [
            e for e in self._entries.values() if not e.task.done() and e.task.get_loop() is loop
        ]


registry = GenerationRegistry()

"""The tables of web UI part 2 (issue 14): blind tests (an arena of two models answering the same probes, each
round's left/right order and the user's vote) and the model servers (`serve-model` processes) started for runs.
Part of the one schema (`loreforge.store.models` re-exports them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loreforge.store.models import Base, Timestamped


class ArenaTest(Timestamped, Base):
    """A blind test: two models (`models`: {"a": spec, "b": spec}, each a base model, a tuned run or folder, or a
    model config) answer the probes of `probe_set_ids`, one round per probe, in an order shuffled with `seed`."""

    __tablename__ = "arena_tests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    models: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    probe_set_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # max_new_tokens, temperature, system, seed


class ArenaRound(Base):
    """One probe of a blind test: which model is shown on the left (`shown_left`: a or b, drawn at random when the
    round is made), both answers once generated, and the vote (left, right, both_good, both_bad) with what it
    means for the models (`winner`: a, b, both_good, both_bad). Until `vote` is set nothing says which is which."""

    __tablename__ = "arena_rounds"
    __table_args__ = (UniqueConstraint("arena_id", "probe_id", name="uq_arena_rounds_arena_probe"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arena_id: Mapped[int] = mapped_column(ForeignKey("arena_tests.id", ondelete="CASCADE"), index=True)
    probe_id: Mapped[int] = mapped_column(ForeignKey("probes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(Text, default="")
    shown_left: Mapped[str] = mapped_column(String(1))  # not `left`: a reserved word in SQL
    answer_a: Mapped[str | None] = mapped_column(Text, nullable=True)
    answer_b: Mapped[str | None] = mapped_column(Text, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # per model: tokens, latency, finish reason
    vote: Mapped[str | None] = mapped_column(String(20), nullable=True)
    winner: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    voted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ModelServer(Timestamped, Base):
    """A `loreforge serve-model` process started in the background (for a train run, or a base model): where it
    listens, the model names it serves, its process and log file; `stopped_at` once stopped."""

    __tablename__ = "model_servers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), nullable=True, index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("train_runs.id", ondelete="SET NULL"), nullable=True)
    base: Mapped[str] = mapped_column(String(1000))
    models: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # served name -> base model or tuned folder
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hostname: Mapped[str] = mapped_column(String(255))  # the machine the process runs on
    log_file: Mapped[str] = mapped_column(String(1000))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

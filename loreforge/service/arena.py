"""Blind test (arena) actions: two models — any of a base model, a tuned run or folder, a model config — answer
the same probes; each round shows the two answers as left and right in an order drawn at random when the round is
made (stored, so a reload keeps it), the user votes left, right, both good or both bad, and only once the vote is
stored does the round say which model was which. Results: each model's win rate and good rate with 95% intervals,
and the sign test (`loreforge.evaluate.arena_stats`).

Rounds are made one at a time, in the probes' order shuffled with the test's seed; answers are generated when a
round asks for them (streamed, through `model_pool`), stored, and never generated twice. Read by the Blind test
page, `loreforge arena ...` and /api/arenas."""

from __future__ import annotations

import random
import secrets
import threading
from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loreforge.errors import Conflict, NotFound, UserError
from loreforge.evaluate.arena_stats import VOTES, results, winner_of
from loreforge.model_views import ArenaModel, ArenaRoundView, ArenaView
from loreforge.service import lookups, model_pool
from loreforge.service.base import ServiceBase
from loreforge.store.models import ArenaRound, ArenaTest, Probe, ProbeSet, utcnow
from loreforge.views import from_row

SIDES = ("left", "right")
_answering: dict[tuple[int, str], threading.Lock] = {}
_answering_lock = threading.Lock()


def _get(session: Session, arena_id: int) -> ArenaTest:
    row = session.get(ArenaTest, lookups.row_id(arena_id)) if lookups.row_id(arena_id) is not None else None
    if row is None:
        raise NotFound(f"No blind test {lookups.shown(arena_id)}", hint="List them with `loreforge arena list PROJECT`")
    return row


def _round(session: Session, test: ArenaTest, round_id: int) -> ArenaRound:
    row = session.get(ArenaRound, round_id)
    if row is None or row.arena_id != test.id:
        raise NotFound(f"No round {round_id} in blind test {test.id}", hint=f"Open the next one: `loreforge arena round {test.id}`")
    return row


def _order(session: Session, test: ArenaTest) -> list[int]:
    """The probe ids of the test in their rounds' order: every probe of its sets, shuffled with its seed, cut to
    its size."""
    ids = [int(i) for i in session.scalars(
        select(Probe.id).where(Probe.probe_set_id.in_(test.probe_set_ids)).order_by(Probe.probe_set_id, Probe.position))]
    random.Random(int(test.config.get("seed", 0))).shuffle(ids)
    size = test.config.get("size")
    return ids[:size] if size else ids


def _prompt(session: Session, probe: Probe) -> str:
    """The probe as it is asked (a choice probe with its options, in rotation 0), as evaluation asks it."""
    from loreforge.evaluate.answering import asks_for
    from loreforge.service.eval_plan import load_probes

    probes, _ = load_probes(session, [probe.probe_set_id])
    found = next(p for p in probes if p.id == probe.id)
    return asks_for(found, "arena", 1)[0].prompt


def arena_view(session: Session, test: ArenaTest) -> ArenaView:
    winners = [w for w in session.scalars(select(ArenaRound.winner).where(
        ArenaRound.arena_id == test.id, ArenaRound.winner.is_not(None)))]
    names = [n for n in session.scalars(select(ProbeSet.name).where(ProbeSet.id.in_(test.probe_set_ids)))]
    project = lookups.project(session, test.project_id).name
    return from_row(ArenaView, test, project=project, models={k: ArenaModel(**v) for k, v in test.models.items()},
                    probe_sets=names, config=dict(test.config), rounds=len(_order(session, test)), voted=len(winners),
                    results=results(winners))


def round_view(test: ArenaTest, row: ArenaRound, total: int) -> ArenaRoundView:
    """The round as the user may see it: the models stay hidden until the vote is stored."""
    right = "b" if row.shown_left == "a" else "a"
    answers = {"a": row.answer_a, "b": row.answer_b}
    revealed = None
    if row.vote is not None:
        revealed = {"left": test.models[row.shown_left]["name"], "right": test.models[right]["name"], "winner": row.winner,
                    "left_model": row.shown_left, "right_model": right}
    return ArenaRoundView(id=row.id, arena_id=test.id, position=row.position, total=total, question=row.question,
                          left=answers[row.shown_left], right=answers[right], vote=row.vote, revealed=revealed,
                          reference=row.reference if row.vote is not None else None)


class ArenaActions(ServiceBase):
    def create_arena(
        self, project: str | int, model_a: str, model_b: str, adapter_a: str | None = None, adapter_b: str | None = None,
        probes: Sequence[str | int] | None = None, name: str | None = None, size: int | None = None,
        max_new_tokens: int | None = None, temperature: float = 0.0, system: str | None = None, seed: int | None = None,
    ) -> ArenaView:
        """A blind test of model A against model B (each a base model, `adapter_*` a train run or folder on it, or a
        model config) on the project's probe sets (`probes`: names or ids; default all), at most `size` rounds."""
        from loreforge.service.eval_plan import probe_sets

        if size is not None and size < 1:
            raise UserError("A blind test needs at least one round", got=f"size {size}")
        a = model_pool.resolve(self.app, project, model_a, adapter_a)
        b = model_pool.resolve(self.app, project, model_b, adapter_b)
        with self.db.session() as session:
            row = lookups.project(session, project)
            sets = probe_sets(session, row, probes)
            tokens = max_new_tokens or lookups.settings(row).eval.max_new_tokens
            config = {"max_new_tokens": int(tokens), "temperature": float(temperature), "system": (system or "").strip() or None,
                      "seed": secrets.randbelow(2**31) if seed is None else int(seed), "size": size}
            label = (name or "").strip() or f"{a.name} vs {b.name}"
            test = ArenaTest(project_id=row.id, name=label[:200], models={"a": a.model_dump(), "b": b.model_dump()},
                             probe_set_ids=[s.id for s in sets], config=config)
            session.add(test)
            session.flush()
            if not _order(session, test):
                raise UserError(f"The probe sets {', '.join(s.name for s in sets)} hold no probes",
                                hint=f"Build some with `loreforge probes build {row.name}`")
            return arena_view(session, test)

    def list_arenas(self, project: str | int) -> list[ArenaView]:
        """The project's blind tests, newest first, with their results so far."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            tests = session.scalars(select(ArenaTest).where(ArenaTest.project_id == row.id).order_by(ArenaTest.id.desc()))
            return [arena_view(session, t) for t in tests]

    def get_arena(self, arena_id: int) -> ArenaView:
        """One blind test with its results: votes per outcome, win and good rates with 95% intervals, the sign test."""
        with self.db.session() as session:
            return arena_view(session, _get(session, arena_id))

    def next_arena_round(self, arena_id: int) -> ArenaRoundView | None:
        """The round to vote on: the one made and not voted yet, else a new one (left and right drawn at random);
        None when every round is voted."""
        with self.db.session() as session:
            test = _get(session, arena_id)
            order = _order(session, test)
            pending = session.scalar(select(ArenaRound).where(ArenaRound.arena_id == test.id, ArenaRound.vote.is_(None))
                                     .order_by(ArenaRound.position))
            if pending is not None:
                return round_view(test, pending, len(order))
            made = set(session.scalars(select(ArenaRound.probe_id).where(ArenaRound.arena_id == test.id)))
            nxt = next((p for p in order if p not in made), None)
            if nxt is None:
                return None
            probe = session.get(Probe, nxt)
            assert probe is not None
            position = int(session.scalar(select(func.count()).select_from(ArenaRound).where(ArenaRound.arena_id == test.id)) or 0) + 1
            row = ArenaRound(arena_id=test.id, probe_id=probe.id, position=position, question=_prompt(session, probe),
                             reference=probe.reference or "", shown_left=secrets.choice("ab"), meta={}, created_at=utcnow())
            session.add(row)
            session.flush()
            return round_view(test, row, len(order))

    def answer_arena_round(self, arena_id: int, round_id: int, side: str,
                           on_piece: Callable[[str], None] | None = None) -> ArenaRoundView:
        """The answer of the model on `side` (left or right) of a round, generated once and stored (streamed to
        `on_piece` while it is generated; an answer stored already is passed whole)."""
        if side not in SIDES:
            raise UserError("A side is left or right", got=repr(side))
        with self.db.session() as session:
            test, row = _get(session, arena_id), None
            row = _round(session, test, round_id)
            label = row.shown_left if side == "left" else ("b" if row.shown_left == "a" else "a")
            spec, config, project = ArenaModel(**test.models[label]), dict(test.config), test.project_id
            question = row.question
        with _answering_lock:
            lock = _answering.setdefault((round_id, label), threading.Lock())
        with lock:  # a second request for the same answer waits for the first, then reads it
            with self.db.session() as session:
                stored = getattr(_round(session, _get(session, arena_id), round_id), f"answer_{label}")
            if stored is not None:
                if on_piece is not None and stored:
                    on_piece(stored)
            else:
                messages = ([{"role": "system", "content": config["system"]}] if config.get("system") else []) + [
                    {"role": "user", "content": question}]
                reply = model_pool.answer(self.app, project, spec, messages, max_new_tokens=int(config["max_new_tokens"]),
                                          temperature=float(config.get("temperature") or 0.0), on_piece=on_piece)
                with self.db.session() as session:
                    row = _round(session, _get(session, arena_id), round_id)
                    setattr(row, f"answer_{label}", reply.text)
                    row.meta = {**(row.meta or {}), label: {"completion_tokens": reply.completion_tokens,
                                                            "latency_ms": round(reply.latency_ms, 1), "finish_reason": reply.finish_reason}}
        with self.db.session() as session:
            test = _get(session, arena_id)
            return round_view(test, _round(session, test, round_id), len(_order(session, test)))

    def vote_arena_round(self, arena_id: int, round_id: int, vote: str) -> ArenaRoundView:
        """Store the vote on a round (left, right, both_good or both_bad) and say which model was which. A round is
        voted once, and only after both answers are there."""
        if vote not in VOTES:
            raise UserError("Unknown vote", expected=", ".join(VOTES), got=repr(vote))
        with self.db.session() as session:
            test = _get(session, arena_id)
            row = _round(session, test, round_id)
            if row.vote is not None:
                raise Conflict(f"Round {row.position} of blind test {test.id} is already voted ({row.vote})",
                               hint="A vote is final: the models were shown once it was stored")
            if row.answer_a is None or row.answer_b is None:
                raise Conflict(f"Round {row.position} of blind test {test.id} has not both answers yet",
                               hint="Wait for both answers, then vote")
            row.vote, row.winner, row.voted_at = vote, winner_of(vote, row.shown_left), utcnow()
            session.flush()
            return round_view(test, row, len(_order(session, test)))

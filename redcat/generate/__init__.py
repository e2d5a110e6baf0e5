"""`redcat generate`: a synthetic landing zone with ground truth beside it."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np

from redcat import contract, reference
from redcat.generate.batch import Batch
from redcat.generate.landing import LandingWriter, WrittenFile, write_manifest
from redcat.generate.options import Faults, GeneratorOptions, PartnerDay, Scale  # noqa: F401 (re-exported)
from redcat.generate.simulate import Simulator
from redcat.generate.truth import TRUTH_DIR, Truth
from redcat.generate.world import World, rng_for
from redcat.timeutil import DAY_MS, SHANGHAI_OFFSET_MS, date_range, day_number, day_start_ms

JSONL_KINDS = {
    "note_events": (contract.MALFORMED_LINE, contract.UNKNOWN_ENUM, contract.UNPARSABLE_TIME, contract.MISSING_KEY),
    "callbacks": contract.REASONS,
    "notes": (contract.MALFORMED_LINE, contract.UNKNOWN_ENUM, contract.UNPARSABLE_TIME, contract.MISSING_KEY),
    "ad_spend": contract.REASONS,
}
TRUNCATE_AT = 0.6  # share of the bytes a truncated file keeps
PARTNER_FUNDED_P = 0.3


def generate(opts: GeneratorOptions, out: Path, progress=None) -> dict:
    """Write `opts.days` delivery days under `out` and the ground truth under `out/_ground_truth`.
    `progress(day)` is called after each written day."""
    opts.validate()
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob("dt=*"), out / TRUTH_DIR]:
        shutil.rmtree(stale, ignore_errors=True)  # a generated landing zone is replaced whole

    world = World(opts)
    sim = Simulator(world)
    writer = LandingWriter(world, opts.gzip)
    truth = Truth(world)
    faults = opts.faults
    partners = world.partners
    span = date_range(opts.start, opts.end)
    malformed_plan = _plan_malformed(opts, span)
    campaign_funding = (
        rng_for(opts.seed, 2).random((len(world.brand_ids), opts.scale.campaigns_per_brand)) < PARTNER_FUNDED_P
    )

    pending: dict[int, list[Batch]] = defaultdict(list)  # partner events by their own date
    due_content: dict[int, list[Batch]] = defaultdict(list)  # by delivery date
    due_callbacks: dict[int, list[Batch]] = defaultdict(list)
    summary_days: list[dict] = []
    first_content_day = True

    for day in date_range(opts.start - dt.timedelta(days=opts.burn_in_days), opts.end):
        dn = day_number(day)
        content, touched_notes, spawned = sim.simulate_day(day)
        if len(spawned):
            event_day = (spawned["t_ms"] + SHANGHAI_OFFSET_MS) // DAY_MS
            for d in np.unique(event_day):
                pending[int(d)].append(spawned.take(np.flatnonzero(event_day == d)))
        todays_partner_events = Batch.concat(pending.pop(dn, []))
        if day < opts.start:
            continue  # burn-in: exposures before the span only feed later conversions

        iso = day.isoformat()
        programs = {p: reference.policy_for(name, day) for p, name in enumerate(partners)}
        truth.add_day(iso, content, todays_partner_events, {p: v is not None for p, v in programs.items()})

        sched = rng_for(opts.seed, 3, dn)
        _schedule(content.with_column("dup", np.zeros(len(content), np.int8)), dn, due_content, faults, sched)
        called_back = _sample(world, todays_partner_events, programs, opts.sampling)
        _schedule(called_back.with_column("dup", np.zeros(len(called_back), np.int8)), dn, due_callbacks, faults, sched)

        day_dir = out / f"dt={iso}"
        if first_content_day:
            touched_notes = np.flatnonzero(world.notes.published_ms < day_start_ms(day) + DAY_MS)
            first_content_day = False
        day_summary = {"date": iso}
        day_summary["content"] = _write_content(
            writer,
            truth,
            opts,
            world,
            day,
            day_dir,
            out,
            Batch.concat(due_content.pop(dn, [])),
            touched_notes,
            campaign_funding,
            programs,
            malformed_plan,
        )
        delivered = Batch.concat(due_callbacks.pop(dn, []))
        for p, partner in enumerate(partners):
            if programs[p] is None:
                continue  # not in a callback programme that day: partners send nothing
            mine = delivered.take(np.flatnonzero(delivered["partner"] == p)) if len(delivered) else Batch()
            day_summary[partner] = _write_partner(
                writer, truth, opts, world, day, partner, programs[p], day_dir, out, mine, malformed_plan
            )
        summary_days.append(day_summary)
        if progress:
            progress(day)

    undelivered = sum(len(b) for v in due_content.values() for b in v) + sum(
        len(b) for v in due_callbacks.values() for b in v
    )
    summary = {
        "generator": "redcat generate",
        "seed": opts.seed,
        "start": opts.start,
        "end": opts.end,
        "days": opts.days,
        "scale": opts.scale.__dict__,
        "sampling": opts.sampling,
        "gzip": opts.gzip,
        "burn_in_days": opts.burn_in_days,
        "due_after_span": undelivered,
        "deliveries": summary_days,
    }
    truth.write(out, summary)
    return summary


def _sample(world: World, events: Batch, programs: dict, sampling: bool) -> Batch:
    """Per-user Bernoulli sampling: a user is called back on a date iff their fixed
    uniform draw for the partner lies below that date's ratio."""
    if not len(events):
        return events
    ratio = np.array([programs[p].sampling_ratio if programs[p] else 0.0 for p in range(len(world.partners))])
    r = ratio[events["partner"]]
    keep = r > 0
    if sampling:
        keep &= world.sampling_u[events["user"], events["partner"]] < r
    return events.take(np.flatnonzero(keep))


def _schedule(batch: Batch, dn: int, due: dict[int, list[Batch]], faults: Faults, rng: np.random.Generator) -> None:
    """Assign delivery dates: on time, late by 1..max_late_days, plus duplicate re-deliveries."""
    n = len(batch)
    if not n:
        return
    delay = np.zeros(n, dtype=np.int64)
    if faults.late_share:
        late = rng.random(n) < faults.late_share
        delay[late] = np.minimum(rng.geometric(0.5, int(late.sum())), faults.max_late_days)
    for d in np.unique(delay):
        due[dn + int(d)].append(batch.take(np.flatnonzero(delay == d)))
    if faults.duplicate_share:
        dup = np.flatnonzero(rng.random(n) < faults.duplicate_share)
        again = delay[dup] + rng.integers(1, 4, len(dup))
        copies = batch.take(dup)
        copies["dup"] = np.ones(len(copies), np.int8)
        for d in np.unique(again):
            due[dn + int(d)].append(copies.take(np.flatnonzero(again == d)))


def _plan_malformed(opts: GeneratorOptions, span: list[dt.date]) -> dict[tuple[str, str, str], list[str]]:
    """Which malformed kinds go into which (date, source, table) file."""
    plan: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    if not opts.faults.malformed_per_kind:
        return plan
    dropped = {(f.partner, f.day) for f in opts.faults.drop_delivery}
    files = []
    for day in span:
        files += [(day.isoformat(), "content", t) for t in ("note_events", "notes", "ad_spend")]
        files += [
            (day.isoformat(), p, "callbacks")
            for p in reference.partners()
            if reference.policy_for(p, day) and (p, day) not in dropped
        ]
    rng = rng_for(opts.seed, 5)
    for kind in contract.REASONS:
        fitting = [f for f in files if kind in JSONL_KINDS[f[2]]]
        for i in rng.integers(0, len(fitting), opts.faults.malformed_per_kind):
            plan[fitting[int(i)]].append(kind)
    return plan


def _record_malformed(truth: Truth, out: Path, written: WrittenFile, source: str, day: str) -> None:
    for line, kind in written.bad_lines:
        truth.record_fault(
            kind="malformed_line",
            reason=kind,
            source=source,
            delivery_date=day,
            file=str(written.path.relative_to(out)),
            line=line,
        )


def _ad_spend(
    world: World,
    day: dt.date,
    funding: np.ndarray,
    programs: dict,
    rng: np.random.Generator,
    brand_level_share: float = 0.0,
    brand_rng: np.random.Generator | None = None,
) -> list[list]:
    """Spend rows of a day: up to three boosted notes per campaign, and with `brand_level_share`
    per brand a brand-level row (empty note_id, campaign `cmp-<brand>-brand`) drawn from `brand_rng`,
    a stream of its own so the note-level rows are the same with or without it."""
    notes = world.notes
    t0 = day_start_ms(day)
    recent = np.flatnonzero((notes.published_ms < t0) & (notes.published_ms >= t0 - 30 * DAY_MS))
    by_brand = np.split(
        recent[np.argsort(notes.brand[recent], kind="stable")],
        np.cumsum(np.bincount(notes.brand[recent], minlength=len(world.brand_ids)))[:-1],
    )
    partner_active = np.array([programs[p] is not None for p in range(len(world.partners))])
    rows = []
    for b, candidates in enumerate(by_brand):
        partner_can_fund = bool((world.brand_sells[b] & partner_active).any())
        # brand-level spend needs no note: also for a brand without a recent note
        if brand_rng is not None and brand_rng.random() < brand_level_share:
            partner_funded = partner_can_fund and brand_rng.random() < PARTNER_FUNDED_P
            spend = float(brand_rng.lognormal(np.log(300.0), 0.8))
            rows.append(
                [
                    day.isoformat(),
                    f"cmp-{world.brand_ids[b]}-brand",
                    world.brand_ids[b],
                    "",
                    "partner" if partner_funded else "brand",
                    f"{spend:.2f}",
                ]
            )
        if not len(candidates):
            continue
        q = notes.quality[candidates]
        for c in range(funding.shape[1]):
            if funding[b, c] and not partner_can_fund:
                continue  # partner-funded boosting exists only while the partner runs a programme
            k = min(3, len(candidates))
            chosen = rng.choice(candidates, size=k, replace=False, p=q / q.sum())
            for n in chosen:
                spend = float(rng.lognormal(np.log(200.0), 0.8))
                rows.append(
                    [
                        day.isoformat(),
                        f"cmp-{world.brand_ids[b]}-{c + 1}",
                        world.brand_ids[b],
                        world.note_ids(np.array([n]))[0],
                        "partner" if funding[b, c] else "brand",
                        f"{spend:.2f}",
                    ]
                )
    return rows


def _keep_redelivery(directory: Path, out: Path, iso: str, source: str) -> str:
    """Copy a complete dump aside before a fault damages it: what the sender would re-deliver."""
    target = out / TRUTH_DIR / "redelivery" / f"dt={iso}" / contract.delivery_dir(source)
    shutil.copytree(directory, target, dirs_exist_ok=True)
    return str(target.relative_to(out))


def _truncate(path: Path) -> int:
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(int(size * TRUNCATE_AT))
    return size


def _drop_parts(truth, world, faults, pday, cbs, redelivery, out, keep_redelivery) -> Batch:
    """A dump that silently lacks one stage, one brand or the hours after a cut-off (manifest
    consistent with what is left): feeds that fail independently at the partner."""
    from redcat.generate.simulate import CT

    if not len(cbs):
        return cbs
    drop = np.zeros(len(cbs), bool)
    for kind, rules in (
        ("dropped_stage", faults.drop_stage),
        ("dropped_brand", faults.drop_brand),
        ("truncated_after_hour", faults.truncate_after_hour),
    ):
        for pd_, value in rules:
            if pd_ != pday:
                continue
            if kind == "dropped_stage":
                hit = cbs["etype"] == CT[value]
            elif kind == "dropped_brand":
                hit = world.brand_ids[cbs["brand"]] == value
            else:
                hit = (cbs["t_ms"] >= day_start_ms(pday.day) + int(value) * 3_600_000) & (
                    cbs["t_ms"] < day_start_ms(pday.day) + DAY_MS
                )
            truth.record_fault(
                kind=kind,
                source=pday.partner,
                delivery_date=pday.day.isoformat(),
                value=value,
                callbacks_lost=int((hit & ~drop).sum()),
                redelivery=str(redelivery.relative_to(out)),
            )
            drop |= hit
    if not drop.any():
        return cbs
    keep_redelivery()
    return cbs.take(np.flatnonzero(~drop))


def _write_content(writer, truth, opts, world, day, day_dir, out, events, notes_idx, funding, programs, plan) -> dict:
    iso = day.isoformat()
    directory = day_dir / "content"
    rng = rng_for(opts.seed, 6, day_number(day))
    files = [
        writer.note_events(directory, events, plan.get((iso, "content", "note_events"), []), rng),
        writer.notes_csv(directory, notes_idx, plan.get((iso, "content", "notes"), []), rng),
        writer.ad_spend_csv(
            directory,
            _ad_spend(
                world,
                day,
                funding,
                programs,
                rng_for(opts.seed, 2, day_number(day)),
                opts.brand_level_spend_share,
                rng_for(opts.seed, 7, day_number(day)),
            ),
            plan.get((iso, "content", "ad_spend"), []),
            rng,
        ),
    ]
    write_manifest(directory, "content", iso, files, None)
    for f in files:
        _record_malformed(truth, out, f, "content", iso)
    if ("content", day) in opts.faults.truncate:
        redelivery = _keep_redelivery(directory, out, iso, "content")
        full = _truncate(files[0].path)
        truth.record_fault(
            kind="truncated_file",
            source="content",
            delivery_date=iso,
            file=str(files[0].path.relative_to(out)),
            original_bytes=full,
            redelivery=redelivery,
        )
    if len(events):
        late = int((((events["t_ms"] + SHANGHAI_OFFSET_MS) // DAY_MS < day_number(day)) & (events["dup"] == 0)).sum())
        dups = int(events["dup"].sum())
    else:
        late = dups = 0
    return {
        "note_events": files[0].rows,
        "notes": files[1].rows,
        "ad_spend": files[2].rows,
        "late": late,
        "duplicates": dups,
    }


def _write_partner(writer, truth, opts, world, day, partner, program, day_dir, out, cbs, plan) -> dict:
    iso = day.isoformat()
    faults = opts.faults
    pday = PartnerDay(partner, day)
    rng = rng_for(opts.seed, 4, day_number(day), world.partners.index(partner))
    manifest_program = {
        "program_version": program.program_version,
        "sampling_ratio": 1.0 if not opts.sampling else program.sampling_ratio,
    }
    bad = plan.get((iso, partner, "callbacks"), [])
    redelivery = out / TRUTH_DIR / "redelivery" / f"dt={iso}" / contract.delivery_dir(partner)

    def write(directory: Path, batch: Batch, program_fields: dict, bad_kinds: list[str]) -> WrittenFile:
        written = writer.callbacks(directory, partner, batch, bad_kinds, rng_for(opts.seed, 6, day_number(day), 1))
        write_manifest(directory, partner, iso, [written], program_fields)
        return written

    if pday in faults.drop_delivery:
        write(redelivery, cbs, manifest_program, [])
        truth.record_fault(
            kind="no_delivery",
            source=partner,
            delivery_date=iso,
            callbacks_not_delivered=len(cbs),
            redelivery=str(redelivery.relative_to(out)),
        )
        return {"callbacks": 0, "delivered": False}

    lost = dict(faults.lose_callbacks).get(pday)
    if lost is not None and len(cbs):
        write(redelivery, cbs, manifest_program, [])
        users = np.unique(cbs["user"])
        gone = rng.choice(users, size=int(round(lost * len(users))), replace=False)
        keep = ~np.isin(cbs["user"], gone)
        truth.record_fault(
            kind="lost_callbacks",
            source=partner,
            delivery_date=iso,
            share=lost,
            users_in_dump=len(users),
            users_lost=len(gone),
            callbacks_lost=int((~keep).sum()),
            redelivery=str(redelivery.relative_to(out)),
        )
        cbs = cbs.take(np.flatnonzero(keep))

    cbs = _drop_parts(
        truth, world, faults, pday, cbs, redelivery, out, lambda: write(redelivery, cbs, manifest_program, [])
    )

    bad_ratio = dict(faults.bad_manifest_ratio).get(pday)
    if bad_ratio is not None:
        truth.record_fault(
            kind="manifest_ratio_mismatch",
            source=partner,
            delivery_date=iso,
            manifest_ratio=bad_ratio,
            policy_ratio=program.sampling_ratio,
        )
        manifest_program = {**manifest_program, "sampling_ratio": bad_ratio}

    written = write(day_dir / contract.delivery_dir(partner), cbs, manifest_program, bad)
    _record_malformed(truth, out, written, partner, iso)
    if (partner, day) in faults.truncate:
        _keep_redelivery(written.path.parent, out, iso, partner)
        full = _truncate(written.path)
        truth.record_fault(
            kind="truncated_file",
            source=partner,
            delivery_date=iso,
            file=str(written.path.relative_to(out)),
            original_bytes=full,
            redelivery=str(redelivery.relative_to(out)),
        )
    return {
        "callbacks": written.rows,
        "delivered": True,
        "program_version": program.program_version,
        "sampling_ratio": manifest_program["sampling_ratio"],
    }

"""Model commands: train, classify, evaluate, label."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from monitor.errors import UserError
from monitor.mention_io import LineError, mention_to_dict, read_mentions
from monitor.models import Mention, Urgency

if TYPE_CHECKING:
    from monitor.app import App

CLASSIFY_BATCH = 4096
_URGENCY_NAMES = tuple(u.value for u in Urgency)
_TRUE = {"1", "true", "yes", "y", "complaint", "keluhan"}
_FALSE = {"0", "false", "no", "n", "not", "not-complaint", "not_complaint", "none", "bukan"}


def _truth(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UserError(f"{where}: label {value!r} is not one of 1/0, true/false, yes/no")


def _read_rows(path: Path, text_col: str, label_col: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise UserError(f"{path}: line {number}: not valid JSON ({exc.msg})") from None
                    if not isinstance(record, dict):
                        raise UserError(f"{path}: line {number}: expected a JSON object")
                    yield number, record
        else:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or text_col not in reader.fieldnames or label_col not in reader.fieldnames:
                raise UserError(f"{path}: needs columns {text_col!r} and {label_col!r} (found {reader.fieldnames})")
            for number, record in enumerate(reader, start=2):
                yield number, record


def _labelled_file(path: Path, text_col: str, label_col: str):  # type: ignore[no-untyped-def]
    from classifiers.training import LabelledText

    rows = []
    for number, record in _read_rows(path, text_col, label_col):
        where = f"{path}: line {number}"
        text = record.get(text_col)
        if not isinstance(text, str) or not text.strip():
            raise UserError(f"{where}: missing text in column {text_col!r}")
        if record.get(label_col) in (None, ""):
            raise UserError(f"{where}: missing label in column {label_col!r}")
        is_complaint = _truth(record[label_col], where)
        urgency = str(record.get("urgency") or "").strip().lower() or None
        if urgency is not None and urgency not in _URGENCY_NAMES:
            raise UserError(f"{where}: urgency {record['urgency']!r} is not one of {', '.join(_URGENCY_NAMES)}")
        category = str(record.get("category") or "").strip() or None
        rows.append(LabelledText(text, is_complaint, urgency, category))
    return rows


def _stored_labels(app: App):  # type: ignore[no-untyped-def]
    """Human labels kept in the database (empty when no database exists yet)."""
    from sqlalchemy import select

    from classifiers.training import LabelledText
    from monitor.storage.schema import LabelRow, MentionRow

    url = app.database_url
    if url.startswith("sqlite:///") and ":memory:" not in url and not Path(url[len("sqlite:///"):]).exists():
        return []
    with app.database.session() as session:
        rows = session.execute(
            select(MentionRow.text, LabelRow.is_complaint, LabelRow.urgency, LabelRow.category)
            .join(LabelRow, LabelRow.mention_pk == MentionRow.pk)
            .where(
                LabelRow.is_complaint.is_not(None) | LabelRow.urgency.is_not(None) | LabelRow.category.is_not(None)
            )
        ).all()
    # a label may say only the urgency or the category: it trains those heads and leaves the complaint head alone
    return [
        LabelledText(text, None if is_c is None else bool(is_c), urgency, category)
        for text, is_c, urgency, category in rows
    ]


@click.command("train")
@click.option("--data", "data_paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Your own labelled mentions (.csv or .jsonl); repeatable.")
@click.option("--text-col", default="text", show_default=True, help="Column (or key) with the text.")
@click.option("--label-col", default="is_complaint", show_default=True,
              help="Column (or key) with the complaint label (1/0, true/false, yes/no).")
@click.option("--only-data", is_flag=True, help="Train on --data (and stored labels) alone, not the bundled recipe.")
@click.option("--no-labels", is_flag=True, help="Ignore the human labels stored in the database.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write the model to (point classifier.model_dir at it).")
@click.pass_obj
def train_command(app: App, data_paths: tuple[Path, ...], text_col: str, label_col: str, only_data: bool,
                  no_labels: bool, out_dir: Path) -> None:
    """Train a model: the bundled recipe over the shared datasets, plus your data and stored labels."""
    from classifiers.datasets import DataMissingError
    from classifiers.model import save_model
    from classifiers.training import default_training_set, train_bundle

    extra = []
    for path in data_paths:
        extra.extend(_labelled_file(path, text_col, label_col))
    labels = [] if no_labels else _stored_labels(app)
    extra.extend(labels)
    if only_data and not extra:
        raise UserError("--only-data needs labelled rows (--data or stored labels)")
    try:
        data = default_training_set(extra, include_shared=not only_data)
    except DataMissingError as exc:
        raise UserError(f"{exc}; or train on your own rows with --data … --only-data") from None
    click.echo(f"{len(labels)} stored labels, {len(extra) - len(labels)} rows from --data", err=True)
    known = set(app.settings.classifier.categories) | {"other"}
    for name in sorted({row.category for row in extra if row.category and row.category not in known}):
        click.echo(f"note: category {name!r} is not in classifier.categories; the model learns it, but it is only "
                   "chosen once the config lists it", err=True)
    try:
        bundle = train_bundle(data, progress=lambda msg: click.echo(msg, err=True))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    save_model(bundle, out_dir)
    click.echo(f"model {bundle.version} written to {out_dir}")


def _classify_stream(app: App, model_dir: Path | None, source: IO[str], out: IO[str]) -> tuple[int, list[LineError]]:
    from classifiers import ModelError, load_classifier

    settings = app.settings.classifier
    base_dir = app.settings.base_dir
    if model_dir is not None:
        settings = settings.model_copy(update={"model_dir": str(model_dir.resolve())})
    try:
        classifier = load_classifier(settings, base_dir)
    except ModelError as exc:
        raise UserError(str(exc)) from None
    errors: list[LineError] = []
    written = 0
    batch: list[Mention] = []

    def flush() -> None:
        nonlocal written
        for mention, verdict in zip(batch, classifier.classify(batch), strict=True):
            record = mention_to_dict(mention)
            record.update(
                lang=verdict.lang,
                is_complaint=verdict.is_complaint,
                complaint_score=verdict.complaint_score,
                urgency=verdict.urgency.value,
                category=verdict.category,
                reasons=list(verdict.reasons),
            )
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            written += 1
        batch.clear()

    for mention in read_mentions(source, errors=errors):
        batch.append(mention)
        if len(batch) >= CLASSIFY_BATCH:
            flush()
    flush()
    return written, errors


@click.command("classify")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Model directory (default: classifier.model_dir from the config, else the shipped model).")
@click.option("--input", "input_path", default="-", show_default=True, help="Mention JSONL file, or - for stdin.")
@click.pass_obj
def classify_command(app: App, model_dir: Path | None, input_path: str) -> None:
    """Read mention JSONL, write it back with lang, is_complaint, complaint_score, urgency, category."""
    if input_path == "-":
        written, errors = _classify_stream(app, model_dir, sys.stdin, sys.stdout)
    else:
        try:
            handle = open(input_path, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot read {input_path}: {exc.strerror or exc}") from None
        with handle:
            written, errors = _classify_stream(app, model_dir, handle, sys.stdout)
    for error in errors:
        click.echo(f"complaint-monitor: skipped {error}", err=True)
    if errors:
        click.echo(f"complaint-monitor: {written} classified, {len(errors)} bad lines skipped", err=True)


@click.command("evaluate")
@click.option("--quick", is_flag=True, help="3 folds and a small speed sample instead of 10 folds (for a fast check).")
@click.option("--folds", type=click.IntRange(2, 20), default=None, help="Cross-validation folds (default 10, quick 3).")
def evaluate_command(quick: bool, folds: int | None) -> None:
    """Print the benchmark table (cross-validated quality, cross-domain, severity, speed)."""
    from classifiers.datasets import DataMissingError
    from classifiers.evaluation import run_benchmark

    try:
        report = run_benchmark(folds=folds or (3 if quick else 10), quick=quick,
                               progress=lambda msg: click.echo(msg, err=True))
    except DataMissingError as exc:
        raise UserError(str(exc)) from None
    click.echo(report)


@click.command("label")
@click.argument("mention_id")
@click.option("--complaint/--not-complaint", "is_complaint", default=None,
              help="Whether the mention is a complaint (a person's word overrides the model).")
@click.option("--urgency", type=click.Choice([u.value for u in Urgency]), default=None)
@click.option("--category", default=None, help="Category name from the taxonomy (or 'other').")
@click.option("--note", default=None, help="Why, for the next person.")
@click.pass_obj
def label_command(app: App, mention_id: str, is_complaint: bool | None, urgency: str | None,
                  category: str | None, note: str | None) -> None:
    """Store a human label for a mention (ID is platform:id, or a bare id if unique)."""
    from monitor.review import LabelChange, apply_label, check_label, label_summary
    from monitor.storage.repository import find_mention, mention_ref

    change = LabelChange(is_complaint, urgency, category, note)
    check_label(change, app.settings)
    with app.database.writing() as session:
        row = find_mention(session, mention_id)
        label = apply_label(session, app.pipeline, app.settings, row, change)
        ref, summary = mention_ref(row), label_summary(label)
    click.echo(f"labelled {ref}: {summary}")


def register(cli: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    for command in (train_command, classify_command, evaluate_command, label_command):
        cli.add_command(command)

"""Model commands: train, classify, evaluate, label."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
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

    if not _database_exists(app):
        return []
    with app.database.session() as session:
        rows = session.execute(
            select(MentionRow.text, LabelRow.is_complaint, LabelRow.urgency, LabelRow.category)
            .join(LabelRow, LabelRow.mention_pk == MentionRow.pk)
            .where(LabelRow.is_complaint.is_not(None) | LabelRow.urgency.is_not(None) | LabelRow.category.is_not(None))
        ).all()
    # a label may say only the urgency or the category: it trains those heads and leaves the complaint head alone
    return [
        LabelledText(text, None if is_c is None else bool(is_c), urgency, category)
        for text, is_c, urgency, category in rows
    ]


def _team_labels(app: App):  # type: ignore[no-untyped-def]
    """Stored labels with their mentions, for `evaluate --labels`."""
    from sqlalchemy import select

    from classifiers.team import TeamLabel
    from monitor.storage.schema import LabelRow, MentionRow

    if not _database_exists(app):
        return []
    with app.database.session() as session:
        rows = session.execute(
            select(MentionRow, LabelRow.is_complaint, LabelRow.urgency, LabelRow.category).join(
                LabelRow, LabelRow.mention_pk == MentionRow.pk
            )
        ).all()
        return [
            TeamLabel(_as_mention(row), None if is_c is None else bool(is_c), urgency, category)
            for row, is_c, urgency, category in rows
        ]


def _stored_mentions(app: App, limit: int) -> list[Mention]:
    """The newest stored mentions (for the prior estimate)."""
    from sqlalchemy import select

    from monitor.storage.schema import MentionRow

    if not _database_exists(app):
        return []
    with app.database.session() as session:
        rows = session.execute(select(MentionRow).order_by(MentionRow.created_at.desc()).limit(limit)).scalars().all()
        return [_as_mention(row) for row in rows]


def _as_mention(row: Any) -> Mention:
    from monitor.storage.repository import mention_from_row

    return mention_from_row(row)


def _database_exists(app: App) -> bool:
    url = app.database_url
    return not (url.startswith("sqlite:///") and ":memory:" not in url and not Path(url[len("sqlite:///") :]).exists())


@click.command("train")
@click.option(
    "--data",
    "data_paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your own labelled mentions (.csv or .jsonl); repeatable.",
)
@click.option("--text-col", default="text", show_default=True, help="Column (or key) with the text.")
@click.option(
    "--label-col",
    default="is_complaint",
    show_default=True,
    help="Column (or key) with the complaint label (1/0, true/false, yes/no).",
)
@click.option("--only-data", is_flag=True, help="Train on --data (and stored labels) alone, not the bundled recipe.")
@click.option("--no-labels", is_flag=True, help="Ignore the human labels stored in the database.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the model to (point classifier.model_dir at it). The model it replaces "
    "is kept in DIR/history/; a running daemon picks the new one up.",
)
@click.option(
    "--target-recall",
    type=click.FloatRange(0.5, 0.999),
    default=None,
    help="Recall each language's threshold must reach on held-out rows (default: classifier.target_recall).",
)
@click.pass_obj
def train_command(
    app: App,
    data_paths: tuple[Path, ...],
    text_col: str,
    label_col: str,
    only_data: bool,
    no_labels: bool,
    out_dir: Path,
    target_recall: float | None,
) -> None:
    """Train a model: the bundled recipe over the shared datasets, plus your data and stored labels (weighted
    above public data)."""
    from classifiers.datasets import DataMissingError
    from classifiers.model import ModelError
    from classifiers.store import publish
    from classifiers.training import default_training_set, train_bundle
    from monitor import progress

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
        click.echo(
            f"note: category {name!r} is not in classifier.categories; the model learns it, but it is only "
            "chosen once the config lists it",
            err=True,
        )
    target = target_recall if target_recall is not None else app.settings.classifier.target_recall
    try:
        with progress.stages("train") as say:
            bundle = train_bundle(data, progress=say, target_recall=target)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    try:
        archived = publish(bundle, out_dir)
    except (OSError, ModelError) as exc:
        raise UserError(f"cannot write the model to {out_dir}: {exc}") from None
    if archived is not None:
        click.echo(f"previous model kept in {archived} (roll back with `complaint-monitor models rollback`)", err=True)
    click.echo(f"model {bundle.version} written to {out_dir}")


def _classify_stream(
    app: App, model_dir: Path | None, source: IO[str], out: IO[str], advance: Callable[[int], None]
) -> tuple[int, list[LineError]]:
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
        advance(len(batch))
        batch.clear()

    for mention in read_mentions(source, errors=errors):
        batch.append(mention)
        if len(batch) >= CLASSIFY_BATCH:
            flush()
    flush()
    return written, errors


@click.command("classify")
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Model directory (default: classifier.model_dir from the config, else the shipped model).",
)
@click.option("--input", "input_path", default="-", show_default=True, help="Mention JSONL file, or - for stdin.")
@click.pass_obj
def classify_command(app: App, model_dir: Path | None, input_path: str) -> None:
    """Read mention JSONL, write it back with lang, is_complaint, complaint_score, urgency, category."""
    from monitor import progress

    if input_path == "-":
        with progress.counting("classify", "mentions") as advance:
            written, errors = _classify_stream(app, model_dir, sys.stdin, sys.stdout, advance)
    else:
        try:
            handle = open(input_path, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot read {input_path}: {exc.strerror or exc}") from None
        total = progress.count_lines(Path(input_path)) if progress.shown() else None
        with handle, progress.counting(f"classify {Path(input_path).name}", "mentions", total) as advance:
            written, errors = _classify_stream(app, model_dir, handle, sys.stdout, advance)
    for error in errors:
        click.echo(f"complaint-monitor: skipped {error}", err=True)
    if errors:
        click.echo(f"complaint-monitor: {written} classified, {len(errors)} bad lines skipped", err=True)


@click.command("evaluate")
@click.option("--quick", is_flag=True, help="3 folds and a small speed sample instead of 10 folds (for a fast check).")
@click.option("--folds", type=click.IntRange(2, 20), default=None, help="Cross-validation folds (default 10, quick 3).")
@click.option(
    "--labels",
    "on_labels",
    is_flag=True,
    help="Instead: the configured model against the team's stored labels (with 95% intervals).",
)
@click.option(
    "--prior",
    "on_prior",
    is_flag=True,
    help="Instead: the stream's complaint share, estimated from stored mentions (EM), and what it does to precision.",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=20_000,
    show_default=True,
    help="With --prior: the newest stored mentions to use.",
)
@click.pass_obj
def evaluate_command(app: App, quick: bool, folds: int | None, on_labels: bool, on_prior: bool, limit: int) -> None:
    """Print the benchmark table (cross-validated quality, cross-domain, severity, speed), or with --labels /
    --prior how the configured model does on your own stream."""
    from classifiers.datasets import DataMissingError
    from classifiers.evaluation import run_benchmark

    if on_labels or on_prior:
        _evaluate_stream(app, on_labels, on_prior, limit)
        return

    from monitor import progress

    try:
        with progress.stages("evaluate") as say:
            report = run_benchmark(folds=folds or (3 if quick else 10), quick=quick, progress=say)
    except DataMissingError as exc:
        raise UserError(str(exc)) from None
    click.echo(report)


def _evaluate_stream(app: App, on_labels: bool, on_prior: bool, limit: int) -> None:
    from classifiers import ModelError, load_classifier, model_directory
    from classifiers.model import load_model
    from classifiers.team import label_report, prior_report

    settings, base_dir = app.settings.classifier, app.settings.base_dir
    try:
        classifier = load_classifier(settings, base_dir)
        bundle_info = load_model(model_directory(settings, base_dir))
    except ModelError as exc:
        raise UserError(str(exc)) from None
    app.database  # noqa: B018 - a database that cannot be opened is the one line said, before any result
    click.echo(
        f"model {classifier.version}: thresholds "
        + ", ".join(f"{head} {value:.3f}" for head, value in classifier.thresholds.items())
    )
    if on_labels:
        labels = _team_labels(app)
        trained_on = int((bundle_info.info.get("sources") or {}).get("labelled", 0))
        for line in label_report(classifier, labels, trained_on).lines():
            click.echo(line)
    if on_prior:
        # EM needs the scores as trained: without any configured stream prior
        raw = (
            classifier
            if settings.stream_prior is None
            else load_classifier(settings.model_copy(update={"stream_prior": None}), base_dir)
        )
        mentions = _stored_mentions(app, limit)
        operating = bundle_info.info.get("operating_points") or {}
        for line in prior_report(raw, mentions, operating, bundle_info.priors).lines():  # type: ignore[arg-type]
            click.echo(line)
        if not bundle_info.priors:
            click.echo("this model records no training prior (trained before the recall-first release): retrain it")


@click.group("models")
def models_group() -> None:
    """The trained models in classifier.model_dir: list them, or roll back to an earlier one."""


def _model_dir(app: App, directory: Path | None) -> Path:
    from classifiers import model_directory

    if directory is not None:
        return directory
    if not app.settings.classifier.model_dir:
        raise UserError("classifier.model_dir is not set (the shipped model has no history); give --dir")
    return model_directory(app.settings.classifier, app.settings.base_dir)


model_dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Model directory (default: classifier.model_dir).",
)


@models_group.command("list")
@model_dir_option
@click.pass_obj
def models_list(app: App, directory: Path | None) -> None:
    """The current model and the earlier ones kept in its history, newest first."""
    from classifiers.store import history

    entries = history(_model_dir(app, directory))
    if not entries:
        raise UserError(f"no model in {_model_dir(app, directory)}")
    for entry in entries:
        click.echo(f"{'*' if entry.current else ' '} {entry.version}  {entry.trained_at}  {entry.path}")


@models_group.command("rollback")
@click.argument("version", required=False)
@model_dir_option
@click.pass_obj
def models_rollback(app: App, version: str | None, directory: Path | None) -> None:
    """Put back an earlier model (the one before the current, or VERSION); a running daemon picks it up."""
    from classifiers.model import ModelError
    from classifiers.store import rollback

    target = _model_dir(app, directory)
    try:
        entry = rollback(target, version)
    except ModelError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"model {entry.version} is the current model in {target} again")


@click.command("label")
@click.argument("mention_id")
@click.option(
    "--complaint/--not-complaint",
    "is_complaint",
    default=None,
    help="Whether the mention is a complaint (a person's word overrides the model).",
)
@click.option("--urgency", type=click.Choice([u.value for u in Urgency]), default=None)
@click.option("--category", default=None, help="Category name from the taxonomy (or 'other').")
@click.option("--note", default=None, help="Why, for the next person.")
@click.pass_obj
def label_command(
    app: App, mention_id: str, is_complaint: bool | None, urgency: str | None, category: str | None, note: str | None
) -> None:
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
    for command in (train_command, classify_command, evaluate_command, label_command, models_group):
        cli.add_command(command)

"""Issue #15: the recall-first operating point, team labels, critical kinds, and swapping models in a daemon."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from classifiers import ClassifierSettings, load_classifier
from classifiers.keyed import HELDOUT, load_heldout
from classifiers.model import SHIPPED_MODEL_DIR, ModelError, load_model, save_model
from classifiers.operating import adjust, em_prior, recall_threshold, wilson
from classifiers.reload import ReloadingClassifier
from classifiers.store import history, publish, rollback
from classifiers.training import (
    EXAMPLE_WEIGHT,
    LABEL_WEIGHT,
    LabelledText,
    default_training_set,
    own_examples,
    train_bundle,
)
from monitor.models import Mention, Urgency


def mention(text: str, ident: str = "1") -> Mention:
    return Mention(ident, "x", "someone", text, datetime(2026, 5, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def shipped():
    return load_classifier()


# -- the operating point ------------------------------------------------------------------------


def test_recall_threshold_reaches_the_target_and_reports_its_cost() -> None:
    rng = np.random.default_rng(0)
    y = np.array([1] * 400 + [0] * 400)
    p = np.clip(np.where(y == 1, rng.normal(0.65, 0.2, 800), rng.normal(0.3, 0.2, 800)), 0.001, 0.999)
    loose, strict = recall_threshold(p, y, 0.80), recall_threshold(p, y, 0.95)
    assert loose.recall >= 0.80 and strict.recall >= 0.95
    assert strict.threshold < loose.threshold  # more recall: a lower threshold
    assert strict.precision <= loose.precision  # …which costs precision
    assert loose.threshold <= 0.5 and loose.recall_at_half < 0.95


@pytest.fixture(scope="module")
def small_models() -> dict[float, object]:
    """The shipped examples alone (no shared data): fast, and enough stream rows to pick thresholds on."""
    data = default_training_set(include_shared=False)
    return {target: train_bundle(data, target_recall=target) for target in (0.8, 0.97)}


def test_the_threshold_follows_target_recall(small_models) -> None:
    loose, strict = small_models[0.8], small_models[0.97]
    for head in ("en", "id"):
        assert strict.thresholds[head] < loose.thresholds[head]
        points = strict.info["operating_points"][head]
        assert points["recall"] >= 0.97 and points["precision"] <= points["precision_at_0.5"] + 1e-9
    # the per-language thresholds are what the classifier uses, unless the config fixes one
    clf = load_classifier_from(strict)
    assert clf.thresholds["en"] == pytest.approx(strict.thresholds["en"])
    fixed = load_classifier_from(strict, ClassifierSettings(complaint_threshold=0.6))
    assert set(fixed.thresholds.values()) == {0.6}


def test_target_recall_can_be_set_per_language_and_is_checked() -> None:
    from pydantic import ValidationError

    assert ClassifierSettings(target_recall={"en": 0.9, "id": 0.95}).target_recall == {"en": 0.9, "id": 0.95}
    with pytest.raises(ValidationError, match="target recall"):
        ClassifierSettings(target_recall=1.0)


def load_classifier_from(bundle, settings: ClassifierSettings | None = None):  # type: ignore[no-untyped-def]
    from classifiers.classifier import Classifier

    return Classifier(bundle, settings or ClassifierSettings())


def test_em_recovers_a_stream_prior_and_the_stream_prior_keeps_the_same_mentions_flagged(shipped) -> None:
    rng = np.random.default_rng(1)
    # calibrated at a training prior of 0.3, on a stream whose true complaint share is 0.6
    y = rng.random(20_000) < 0.6
    scores = np.where(y, rng.normal(1.0, 1.0, len(y)), rng.normal(-1.0, 1.0, len(y)))
    likelihood_ratio = np.exp(2 * scores)  # two unit-variance normals 2 apart
    posterior = 0.3 * likelihood_ratio / (0.3 * likelihood_ratio + 0.7)
    estimate = em_prior(posterior, 0.3)
    assert estimate.prior == pytest.approx(0.6, abs=0.02)
    assert adjust(np.array([0.5]), 0.5, 0.8)[0] == pytest.approx(0.8)

    texts = ["the app keeps crashing at checkout", "thanks, arrived early", "is the app down for anyone?"]
    shifted = load_classifier(ClassifierSettings(stream_prior=0.8))
    base = [v.is_complaint for v in shipped.classify([mention(t) for t in texts])]
    moved = shifted.classify([mention(t) for t in texts])
    assert [v.is_complaint for v in moved] == base
    raw = shipped.classify([mention(texts[0])])[0].complaint_score
    assert moved[0].complaint_score > raw


def test_wilson_interval() -> None:
    low, high = wilson(45, 50)
    assert low < 0.9 < high and 0 <= low and high <= 1
    assert wilson(0, 0) == (0.0, 1.0)


# -- learning from the team ---------------------------------------------------------------------


def test_stored_labels_outweigh_public_and_shipped_rows() -> None:
    data = default_training_set([LabelledText("the parcel came late again", False, lang="en")], include_shared=False)
    weights = dict(zip(data.texts, data.weights, strict=True))
    assert weights["the parcel came late again"] == LABEL_WEIGHT > EXAMPLE_WEIGHT > 1.0


def test_a_team_label_overrules_public_rows_that_say_otherwise() -> None:
    """Public rows (weight 1) call posts about the green banner complaints; a team that labels fewer of its own
    such posts as not complaints gets a model that agrees with the team."""
    phrase = "the green banner shows up on the home screen"
    public = [f"{phrase} {word}" for word in ("today", "again", "now", "lol", "this week", "for me", "guys", "hmm")] * 3
    team = [LabelledText(f"{phrase} {word}", False, lang="en") for word in ("", "ok", "yes", "fyi", "btw", "noted")]

    def score(extra: list[LabelledText]) -> float:
        data = default_training_set(extra, include_shared=False)
        data.add("public", public, [1] * len(public), 1.0, "en")
        return float(load_classifier_from(train_bundle(data)).classify([mention(phrase)])[0].complaint_score)

    without, with_team = score([]), score(team)
    assert without > 0.5 > with_team


def test_evaluate_labels_and_prior_on_a_stored_stream(cli, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    db = f"sqlite:///{tmp_path / 'm.db'}"
    assert cli("--db", db, "import", str(root / "examples" / "sample_mentions.jsonl")).code == 0
    labelled = cli(
        "--db", db, "label", "x:2030801178198998051", "--complaint", "--urgency", "medium", "--category", "delivery"
    )
    assert labelled.code == 0, labelled.err
    assert cli("--db", db, "label", "x:2030795947898040610", "--not-complaint").code == 0
    result = cli("--db", db, "evaluate", "--labels", "--prior")
    assert result.code == 0, result.err
    assert "stored labels: 2 (2 say complaint or not: 1 complaints)" in result.out
    assert "complaint recall:    1.000 (95% CI" in result.out
    assert "  id: " in result.out and "estimated complaint share" in result.out
    assert "too few to estimate" in result.out  # the handful in other languages
    assert "set classifier.stream_prior: 0." in result.out


# -- critical means critical --------------------------------------------------------------------

CRITICAL = [
    ("en", "My lawyer will contact you about the money you still hold from my account."),
    ("en", "I have reported this to the consumer protection agency and the banking regulator."),
    ("en", "Filed a police report about the transfer I never authorised from my wallet."),
    ("en", "Someone logged into my account from another city and changed my phone number."),
    ("en", "The delivery rider crashed into my gate and my son's leg is injured."),
    ("en", "We all got food poisoning after the chicken from your store."),
    ("id", "saya sudah lapor ke OJK dan YLKI soal dana yang tidak dikembalikan"),
    ("id", "kalau tidak ada penyelesaian saya tempuh jalur hukum"),
    ("id", "akun saya dibajak, ada transaksi yang bukan saya yang lakukan"),
    ("id", "saldo saya terpotong tanpa persetujuan saya, 2 juta hilang"),
    ("id", "data pribadi saya bocor, penipu tau alamat rumah saya"),
    ("id", "anak saya keracunan setelah minum susu yang dibeli di toko kalian"),
    # calm legal threats, with no word of complaint
    ("en", "The small claims form is filled in. You will hear from the court, not from me."),
    ("id", "berkasnya sudah di pengacara saya, silakan jelaskan di pengadilan nanti"),
    # a spoiled or expired product already eaten or drunk, told as a plain fact
    ("en", "The juice was three weeks past its date and my toddler had already drunk half the bottle."),
    ("id", "sosisnya ternyata udah lewat tanggal, dua udah dimakan adik saya"),
]


@pytest.mark.parametrize(("lang", "text"), CRITICAL)
def test_critical_kinds_are_flagged_critical_with_a_reason(shipped, lang: str, text: str) -> None:
    (verdict,) = shipped.classify([mention(text)])
    assert verdict.lang == lang
    assert verdict.is_complaint, verdict.reasons
    assert verdict.urgency == Urgency.CRITICAL, verdict.reasons
    assert any(reason.startswith("keyword:") and "→ critical" in reason for reason in verdict.reasons)


def test_a_critical_keyword_lowers_the_threshold_only_as_far_as_configured(shipped) -> None:
    text = "please explain, my cousin mentioned ojk"
    strict = load_classifier(ClassifierSettings(critical_threshold_factor=1.0))
    loose = load_classifier(ClassifierSettings(critical_threshold_factor=0.0))
    assert loose.classify([mention(text)])[0].is_complaint
    assert strict.classify([mention(text)])[0].is_complaint == (
        strict.classify([mention(text)])[0].complaint_score >= strict.thresholds["en"]
    )


# -- news feeds --------------------------------------------------------------------------------


def test_a_news_feed_article_is_flagged_only_from_its_platform_threshold() -> None:
    article = (
        "Wallet app restores payments after outage\n\nUsers reported failed payments that still took money "
        "from their balance; the company says refunds are under way."
    )
    plain = load_classifier(ClassifierSettings(platform_threshold={}))
    news = load_classifier(ClassifierSettings(platform_threshold={"rss": 0.99}))
    as_post, as_article = mention(article), replace(mention(article), platform="rss")
    (verdict,) = plain.classify([as_post])
    assert verdict.is_complaint, verdict.reasons  # read as a customer's post it is a complaint
    assert news.classify([as_post])[0].is_complaint  # other platforms keep the language's threshold
    assert not news.classify([as_article])[0].is_complaint
    # a critical keyword does not lower a platform's threshold: an article about a leak is news
    leak = replace(
        mention("Data leak: customer records of a wallet app offered for sale, the company denies it"), platform="rss"
    )
    (verdict,) = news.classify([leak])
    assert not verdict.is_complaint and not any(r.startswith("critical keyword") for r in verdict.reasons)


def test_a_platform_threshold_is_a_score() -> None:
    with pytest.raises(ValueError, match="rss"):
        ClassifierSettings(platform_threshold={"rss": 1.5})


# -- the held-out set stays held out ------------------------------------------------------------


def test_the_heldout_set_is_never_in_the_training_examples() -> None:
    mentions, truths = load_heldout()
    assert len(mentions) >= 150 and {t.lang for t in truths} == {"en", "id"}
    held = {m.text.strip().lower() for m in mentions}
    assert not held & {row.text.strip().lower() for row in own_examples()}
    assert all("santapin" not in row.text.lower() for row in own_examples())
    assert HELDOUT.name in (Path(__file__).resolve().parents[1] / "bench" / "data" / "README.md").read_text()


# -- swapping models ----------------------------------------------------------------------------


def _copy_shipped(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in ("manifest.json", "weights.npz"):
        shutil.copy2(SHIPPED_MODEL_DIR / name, target / name)
    return target


def test_a_daemon_swaps_models_atomically_and_refuses_a_broken_one(tmp_path: Path) -> None:
    model_dir = _copy_shipped(tmp_path / "model")
    live = ReloadingClassifier(ClassifierSettings(model_dir=str(model_dir)))
    first = live.version
    assert live.check().outcome == "unchanged"

    # a new model published into the directory is picked up, and the old one goes to history
    bundle = replace(load_model(SHIPPED_MODEL_DIR), version="cm-next")
    publish(bundle, model_dir)
    result = live.check()
    assert result.outcome == "loaded" and live.version == "cm-next"
    assert [e.version for e in history(model_dir)] == ["cm-next", first]

    # a broken model (weights not matching the manifest) is refused; the running one keeps classifying
    (model_dir / "weights.npz").write_bytes(b"not a zip")
    refused = live.check()
    assert refused.outcome == "refused" and "do not match" in refused.message
    assert live.version == "cm-next"
    assert live.classify([mention("OTP never arrives, can't log in")])[0].is_complaint

    # rollback puts the first model back, and the daemon picks that up too
    entry = rollback(model_dir, first)
    assert entry.version == first
    assert live.check().outcome == "loaded" and live.version == first


def test_a_batch_is_classified_by_one_model_while_another_is_swapped_in(tmp_path: Path) -> None:
    model_dir = _copy_shipped(tmp_path / "model")
    live = ReloadingClassifier(ClassifierSettings(model_dir=str(model_dir)))
    batch = [mention(f"the app crashed again {i}", str(i)) for i in range(3000)]
    versions: list[set[str]] = []

    def classify() -> None:
        for _ in range(5):
            versions.append({v.model_version for v in live.classify(batch)})

    worker = threading.Thread(target=classify)
    worker.start()
    publish(replace(load_model(SHIPPED_MODEL_DIR), version="cm-swapped"), model_dir)
    live.check()
    worker.join()
    assert all(len(seen) == 1 for seen in versions)  # never half of each
    assert live.version == "cm-swapped"


def test_daemon_check_model_uses_the_configured_directory(tmp_path: Path) -> None:
    from monitor.app import App
    from monitor.daemon import Daemon

    model_dir = _copy_shipped(tmp_path / "model")
    config = tmp_path / "config.yaml"
    config.write_text(f"classifier:\n  model_dir: {model_dir}\n  reload_interval: 1s\n", encoding="utf-8")
    app = App(config_path=config, db_override=f"sqlite:///{tmp_path / 'd.db'}")
    daemon = Daemon(app)
    model = daemon.use_reloading_model()
    assert app.classifier is model
    publish(replace(load_model(SHIPPED_MODEL_DIR), version="cm-daemon"), model_dir)
    assert daemon.check_model().outcome == "loaded"  # type: ignore[union-attr]
    assert app.pipeline.classifier.version == "cm-daemon"
    app.close()


def test_models_list_and_rollback_commands(cli, tmp_path: Path) -> None:
    model_dir = _copy_shipped(tmp_path / "model")
    first = json.loads((model_dir / "manifest.json").read_text())["version"]
    publish(replace(load_model(SHIPPED_MODEL_DIR), version="cm-second"), model_dir)
    listed = cli("models", "list", "--dir", str(model_dir))
    assert listed.code == 0, listed.err
    assert listed.out.splitlines()[0].startswith("* cm-second") and first in listed.out
    back = cli("models", "rollback", "--dir", str(model_dir))
    assert back.code == 0, back.err
    assert f"model {first} is the current model" in back.out
    assert load_model(model_dir).version == first
    none = cli("models", "rollback", "--dir", str(tmp_path / "empty"))
    assert none.code == 2 and "no earlier model" in none.err
    unset = cli("models", "list")
    assert unset.code == 2 and "classifier.model_dir is not set" in unset.err


def test_save_then_corrupt_manifest_is_a_clear_error(tmp_path: Path) -> None:
    save_model(load_model(SHIPPED_MODEL_DIR), tmp_path / "m")
    (tmp_path / "m" / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="corrupt"):
        load_model(tmp_path / "m")

"""The classifiers as the pipeline and a user see them: shipped model, rules, training, model files."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from classifiers import ClassifierSettings, ModelError, load_classifier
from classifiers.features import FeatureSpec, Featurizer
from classifiers.keywords import PhraseMatcher
from classifiers.model import SHIPPED_MODEL_DIR, load_model, save_model
from classifiers.training import LabelledText, TrainingSet, own_examples, train_bundle
from monitor.models import Mention, Metrics, Urgency

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def mention(text: str, followers: int = 0, lang: str | None = None, ident: str = "1") -> Mention:
    return Mention(
        id=ident,
        platform="x",
        author="someone",
        text=text,
        created_at=NOW,
        lang=lang,
        metrics=Metrics(followers=followers),
    )


@pytest.fixture(scope="module")
def shipped():
    return load_classifier(ClassifierSettings(), None)


def classify_one(clf, text: str, **kwargs):
    return clf.classify([mention(text, **kwargs)])[0]


# -- the shipped model on clear cases -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Great, maintenance again on payday 🙃",
        "I was charged twice for my order and nobody answers my emails",
        "my parcel still hasn't arrived after two weeks, terrible service",
        "min saldo saya kepotong tapi transaksinya gagal, gimana nih",
        "udah 3 hari gak ada sinyal, kecewa bgt sama provider ini",
        "aplikasinya error mulu dari kemarin gak bisa dibuka",
    ],
)
def test_shipped_model_flags_complaints_in_both_languages(shipped, text: str) -> None:
    verdict = classify_one(shipped, text)
    assert verdict.is_complaint, verdict
    assert verdict.complaint_score >= 0.5
    assert verdict.urgency is not Urgency.NONE


@pytest.mark.parametrize(
    "text",
    [
        "How do I change the phone number on my account?",
        "Thank you so much, your team was amazing today!",
        "Use my referral code WIN50 for a discount on your first ride",
        "min, cara ganti nomor hp di aplikasi gimana ya?",
        "makasih banyak min, pelayanannya mantap 👍",
    ],
)
def test_shipped_model_leaves_questions_praise_and_promos_alone(shipped, text: str) -> None:
    verdict = classify_one(shipped, text)
    assert not verdict.is_complaint, verdict
    assert verdict.complaint_score < 0.5
    assert verdict.urgency is Urgency.NONE


def test_critical_cases_are_critical(shipped) -> None:
    for text in (
        "my account was hacked and all the money in my wallet was stolen",
        "akun saya dibobol orang, saldo saya hilang semua",
        "got food poisoning from your burger, my son is in hospital",
    ):
        verdict = classify_one(shipped, text)
        assert verdict.is_complaint and verdict.urgency is Urgency.CRITICAL, (text, verdict)
        assert any(r.startswith("keyword:") for r in verdict.reasons)


def test_money_lost_is_high_and_category_is_billing(shipped) -> None:
    verdict = classify_one(shipped, "I was double charged for my subscription, I want a refund")
    assert verdict.is_complaint
    assert verdict.urgency is Urgency.HIGH
    assert verdict.category == "payment_billing"


def test_reach_and_repetition_raise_urgency_with_reasons(shipped) -> None:
    text = "my delivery is late"
    quiet = classify_one(shipped, text)
    loud = classify_one(shipped, text, followers=150_000)
    assert quiet.is_complaint and loud.is_complaint
    assert loud.urgency.rank > quiet.urgency.rank
    assert any(r.startswith("reach: 150k followers") for r in loud.reasons)
    repeated = classify_one(shipped, "paket saya telat lagi, udah 3x kayak gini")
    assert repeated.is_complaint
    assert any(r.startswith("repeated:") for r in repeated.reasons)


def test_language_uses_the_source_tag_else_detects_slang(shipped) -> None:
    verdicts = shipped.classify(
        [
            mention("gak bisa login udah 3x bgt min", ident="a"),
            mention("why is the app down again", ident="b"),
            mention("the app is down", lang="ms", ident="c"),
            mention("kok pulsa kepotong terus sih, padahal udah top up", ident="d"),
        ]
    )
    assert [v.lang for v in verdicts] == ["id", "en", "ms", "id"]


def test_every_verdict_is_consistent(shipped) -> None:
    texts = [
        "",
        "🙃",
        "a" * 5000,
        "refund",
        "ok",
        "http://example.com @brand #tag",
        "\u202egnol ot elba ton\u202c",
        "\u200b" * 300,
        "e\u0301" * 2000 + " saldo kepotong",
        "<b>rusak</b>" * 500,
    ]
    verdicts = shipped.classify([mention(t, ident=str(i)) for i, t in enumerate(texts)])
    assert len(verdicts) == len(texts)
    for verdict in verdicts:
        assert 0.0 <= verdict.complaint_score <= 1.0
        assert (verdict.urgency is Urgency.NONE) == (not verdict.is_complaint)
        assert verdict.category in set(ClassifierSettings().categories) | {"other"}
        assert verdict.model_version == shipped.version
    assert shipped.classify([]) == []


def test_config_threshold_and_categories_apply() -> None:
    settings = ClassifierSettings(
        complaint_threshold=0.99,
        categories={"parking": ["parkir", "parking"]},
    )
    clf = load_classifier(settings, None)
    verdict = classify_one(clf, "parking at your mall is a nightmare, no spots and the gate was broken")
    assert verdict.category == "parking"
    assert verdict.is_complaint == (verdict.complaint_score >= 0.99)


def test_empty_config_section_is_valid_and_unknown_keys_are_not() -> None:
    assert ClassifierSettings.model_validate({}).model_dir is None
    with pytest.raises(ValueError):
        ClassifierSettings.model_validate({"modle_dir": "x"})
    with pytest.raises(ValueError):
        ClassifierSettings.model_validate({"urgency": {"raise_limit": "extreme"}})


# -- keywords -------------------------------------------------------------------------------------


def test_phrases_with_wildcards_numbers_and_slang() -> None:
    matcher = PhraseMatcher(
        {"money": ["refund*", "double charge"], "again": ["udah #x", "for the * time"], "login": ["gak bisa login"]},
        Featurizer(FeatureSpec(), *_slang_pair()),
    )
    hits = matcher.find(
        Featurizer(FeatureSpec(), *_slang_pair()).tokens(
            ["Still REFUNDED nothing", "udah 12x nanya", "for the third time!", "ga bisa login", "refu"]
        ),
        5,
    )
    assert [h.phrase for h in hits[0]] == ["refund*"]
    assert [h.phrase for h in hits[1]] == ["udah #x"]
    assert [h.phrase for h in hits[2]] == ["for the * time"]
    assert hits[4] == []


def _slang_pair() -> tuple[np.ndarray, np.ndarray]:
    from classifiers.features import string_hashes

    return string_hashes(["ga", "gk"]), string_hashes(["gak", "gak"])


# -- the featurizer's fast paths agree with what they stand for -----------------------------------


@pytest.mark.parametrize(
    "spec", [FeatureSpec(), FeatureSpec(char_within_words=True), FeatureSpec(bits=12, char_min=1, char_max=6)]
)
def test_char_ngram_columns_are_the_hashes_of_their_spans(spec: FeatureSpec) -> None:
    from classifiers.features import _CHAR_SALT, _Batch, prepare_batch

    texts = ["Gak bisa login udah 3x!!", "", "ok", "café ☕ 日本語 @brand_id https://x.co/a", "a  b\tc"]
    batch = _Batch.of(prepare_batch(texts))
    codes = batch.codes.tolist()
    expected: list[int] = []
    rows: list[int] = []
    for i in range(len(codes)):
        for n in range(spec.char_min, spec.char_max + 1):
            span = codes[i : i + n]
            if len(span) < n or 0 in span or (spec.char_within_words and 32 in span[1:-1]):
                continue
            h = (int(batch.span_hash(np.array([i]), np.array([i + n]))[0]) + _CHAR_SALT * n) % 2**64
            expected.append((h * 0x9E3779B97F4A7C15 % 2**64) >> (64 - spec.bits))
            rows.append(int(batch.doc[i]))
    cols, indptr = Featurizer(spec)._char_columns(batch)
    assert cols.tolist() == expected
    assert np.diff(indptr).tolist() == np.bincount(rows, minlength=len(texts)).tolist()


def test_hash_index_finds_what_a_sorted_search_finds() -> None:
    from classifiers.features import HashIndex

    rng = np.random.default_rng(7)
    keys = rng.integers(0, 2**63, 300, dtype=np.uint64)
    keys = np.concatenate([keys, keys[:20]])  # repeated keys: the first is found
    queries = np.concatenate([keys, rng.integers(0, 2**63, 5000, dtype=np.uint64)])
    order = np.argsort(keys, kind="stable")
    where = np.searchsorted(keys[order], queries)
    present = keys[order][np.minimum(where, len(keys) - 1)] == queries
    expected = np.where(present, order[np.minimum(where, len(keys) - 1)], -1)
    assert HashIndex(keys).find(queries).tolist() == expected.tolist()
    assert HashIndex(np.zeros(0, dtype=np.uint64)).find(queries[:3]).tolist() == [-1, -1, -1]


def test_prepare_batch_replaces_like_one_alternation() -> None:
    import re

    from classifiers.features import _HTML_ENTITY, _URL, _sub

    text = "www.x.com/?u=http://y z http://www.x.com a <a href=http://x.com> httpx www http:// &amp;<b>&lt;<br/>"
    for alternatives, replacement in ((_URL, " httpurl "), (_HTML_ENTITY, " ")):
        joined = re.compile("|".join(p.pattern for p in alternatives))
        assert _sub(alternatives, replacement, text) == joined.sub(replacement, text)


# -- training a tiny model and the model files ----------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = TrainingSet()
    examples = own_examples() + [
        LabelledText("my order is late again, really disappointed", True, lang="en"),
        LabelledText("the app crashed and I lost my cart", True, lang="en"),
        LabelledText("thanks for the help yesterday!", False, lang="en"),
        LabelledText("pesanan saya telat lagi, kecewa banget", True, lang="id"),
        LabelledText("makasih bantuannya kemarin!", False, lang="id"),
    ]
    texts, langs = [e.text for e in examples], [e.lang for e in examples]
    data.add("tiny", texts, [int(e.is_complaint) for e in examples], 1.0, langs)
    bundle = train_bundle(data, spec=FeatureSpec(bits=16), version="tiny-1")
    out = tmp_path_factory.mktemp("model")
    save_model(bundle, out)
    return out


def test_a_trained_model_round_trips_and_learns_its_examples(tiny_model_dir: Path, tmp_path: Path) -> None:
    clf = load_classifier(ClassifierSettings(model_dir=tiny_model_dir.name), tiny_model_dir.parent)
    assert clf.version == "tiny-1"
    texts = [e.text for e in own_examples()]
    verdicts = clf.classify([mention(t, ident=str(i)) for i, t in enumerate(texts)])
    agree = sum(v.is_complaint == e.is_complaint for v, e in zip(verdicts, own_examples(), strict=True))
    assert agree / len(texts) >= 0.9
    sarcasm = clf.classify([mention("Great, maintenance again on payday 🙃")])[0]
    assert sarcasm.is_complaint


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_corrupt_or_mismatched_model_gives_a_clear_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model directory not found"):
        load_model(tmp_path / "nowhere")

    broken = _copy(tiny_model_dir, tmp_path / "broken")
    (broken / "weights.npz").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="do not match the manifest"):
        load_model(broken)

    old = _copy(tiny_model_dir, tmp_path / "old")
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["format_version"] = 999
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="format version 999"):
        load_model(old)

    garbled = _copy(tiny_model_dir, tmp_path / "garbled")
    (garbled / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="corrupt"):
        load_model(garbled)

    with pytest.raises(ValueError):  # ModelError is a ValueError: callers may catch either
        load_classifier(ClassifierSettings(model_dir=str(tmp_path / "old")), None)


def test_model_error_messages_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        load_model(tmp_path)
    assert "\n" not in str(info.value)


def test_shipped_model_is_small_and_safe() -> None:
    files = {p.name: p.stat().st_size for p in SHIPPED_MODEL_DIR.iterdir()}
    assert set(files) == {"manifest.json", "weights.npz"}
    assert sum(files.values()) < 8 * 1024 * 1024
    with np.load(SHIPPED_MODEL_DIR / "weights.npz", allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)


def test_a_login_complaint_is_high_even_without_an_urgency_keyword_and_floors_are_configurable(shipped):
    text = "the OTP code never arrives, I have tried since this morning"
    (verdict,) = shipped.classify([mention(text)])
    assert verdict.is_complaint and verdict.category == "access_login"
    assert verdict.urgency == Urgency.HIGH
    assert "category: access_login → at least high" in verdict.reasons

    settings = ClassifierSettings()
    settings.urgency.category_floor = {}
    settings.urgency.default_level = "medium"
    (plain,) = load_classifier(settings, None).classify([mention(text)])
    assert plain.urgency == Urgency.MEDIUM  # a complaint with no urgency keyword: the service fell short


def test_an_unknown_urgency_level_in_a_category_floor_is_a_config_error():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="access_login: must be one of"):
        ClassifierSettings.model_validate({"urgency": {"category_floor": {"access_login": "urgent"}}})


# -- learned categories and urgency ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        (
            "typed my PIN right three times and it still says wrong, now it won't let me in at all",
            "access_login",
            "high",
        ),
        ("PIN udah bener tapi ditolak terus, sekarang malah keblokir", "access_login", "high"),
        (
            "someone in another city spent my balance at 3am, I never gave my code to anyone",
            "security_fraud",
            "critical",
        ),
        (
            "ada yang belanja pake akun gue jam 3 pagi, gue gak pernah kasih kode ke siapa2",
            "security_fraud",
            "critical",
        ),
        ("my identity check has been 'under review' for 10 days and I can't use my funds", "account", None),
        ("sent money to my sister, app said success, she never got it", "payment_billing", None),
    ],
)
def test_the_model_finds_category_and_urgency_where_no_keyword_says_them(shipped, text, category, urgency) -> None:
    verdict = classify_one(shipped, text)
    assert verdict.is_complaint
    assert verdict.category == category
    assert "category: model" in " ".join(verdict.reasons)  # the model's call, not a keyword's
    if urgency is not None:
        assert verdict.urgency.value == urgency
        assert not any(r.startswith("keyword:") for r in verdict.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "Nusapay Bantah Isu Kebocoran Data Pengguna",
        "Nusapay denies reports of customer data leak, says systems secure",
        "Nusapay raises $40M to expand into eastern Indonesia",
    ],
)
def test_news_about_the_brand_is_not_a_complaint(shipped, text: str) -> None:
    verdict = classify_one(shipped, text)
    assert not verdict.is_complaint and verdict.urgency == Urgency.NONE


def test_health_harm_is_critical_in_both_languages(shipped) -> None:
    for text in (
        "anak saya muntah dan diare setelah makan nugget yang dibeli di toko kalian",
        "my son ended up in the ER after eating your chicken nuggets",
    ):
        verdict = classify_one(shipped, text)
        assert verdict.is_complaint and verdict.urgency == Urgency.CRITICAL, text


def test_a_keyword_of_a_category_the_model_never_learned_still_decides() -> None:
    settings = ClassifierSettings(categories={**ClassifierSettings().categories, "parking": ["parkir", "parking"]})
    verdict = classify_one(load_classifier(settings, None), "parkir di mall kalian penuh terus, muter2 sejam")
    assert verdict.category == "parking"
    only_model = ClassifierSettings(category_keyword_weight=0)
    assert classify_one(load_classifier(only_model, None), "parking lot is full again").category != "parking"


@pytest.fixture(scope="module")
def labelled_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained on the shipped examples plus a user's own category (no keywords for it)."""
    data = TrainingSet()
    parking = [
        "no free spot on any floor again, drove around for 40 minutes",
        "the barrier at the exit ate my ticket and I was stuck behind it",
        "lantai 3 sampai 6 penuh semua, muter2 sejam",
        "palang keluar gak mau kebuka padahal tiket udah dibayar",
        "the attendant charged me for a full day for 2 hours",
        "tiket parkir hilang dikit langsung denda 100rb",
    ] * 3
    rows = own_examples() + [LabelledText(t, True, "low", "car_park", None) for t in parking]
    data.add_labelled("labelled", rows, 1.0)
    bundle = train_bundle(data, spec=FeatureSpec(bits=16), version="tiny-car-park")
    out = tmp_path_factory.mktemp("labelled-model")
    save_model(bundle, out)
    return out


def test_categories_and_urgency_are_learned_from_labelled_rows(labelled_model_dir: Path) -> None:
    bundle = load_model(labelled_model_dir)
    assert bundle.category is not None and "car_park" in bundle.category.classes
    assert bundle.urgency is not None and bundle.urgency.classes == ["low", "medium", "high", "critical"]
    settings = ClassifierSettings(categories={**ClassifierSettings().categories, "car_park": []})
    clf = load_classifier(settings.model_copy(update={"model_dir": str(labelled_model_dir)}), None)
    verdict = classify_one(clf, "every floor full again, drove around the car park for an hour")
    assert verdict.category == "car_park"
    # a category the config no longer lists is never chosen, whatever the model learned
    plain = load_classifier(ClassifierSettings(model_dir=str(labelled_model_dir)), None)
    assert classify_one(plain, "every floor full again, drove around the car park for an hour").category != "car_park"


def test_a_model_without_learned_heads_falls_back_to_keywords(tiny_model_dir: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    bare = tmp_path / "bare"
    save_model(replace(load_model(tiny_model_dir), category=None, urgency=None), bare)
    clf = load_classifier(ClassifierSettings(model_dir=str(bare)), None)
    verdict = classify_one(clf, "my parcel still hasn't arrived after two weeks, terrible service")
    assert verdict.category == "delivery"
    assert any(r == "category: parcel → delivery" for r in verdict.reasons)


def test_words_after_a_negator_in_its_clause_are_features_of_their_own():
    plain, scoped = Featurizer(FeatureSpec()), Featurizer(FeatureSpec(negation_scope=3))

    def negated_features(text: str) -> set[int]:
        return set(scoped.transform([text]).indices) - set(plain.transform([text]).indices)

    assert len(negated_features("no fee, nice")) == 1  # "fee"; "nice" is past the comma
    assert len(negated_features("gak ada drama sama sekali")) == 3  # ada, drama, sama
    assert len(negated_features("not working at all today")) == 3
    assert negated_features("no. the fee is wrong") == set()  # another sentence
    assert negated_features("the fee is wrong") == set()
    # a model trained before negation features loads with none (its manifest has no such key)
    assert FeatureSpec.from_dict({"bits": 19, "char_min": 3, "char_max": 5}).negation_scope == 0

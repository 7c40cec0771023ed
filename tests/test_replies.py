"""Reply drafts: the five steps, the customer's language, never a private detail in public."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.config import BrandSettings
from monitor.models import Classification, IncidentContext, Mention, Urgency
from monitor.replies import ReplyTemplateError, build_drafter, find_personal_data, lint_draft, reply_length
from monitor.replies.lint import INDONESIAN_SLANG
from monitor.replies.matrix import lint_matrix
from monitor.replies.settings import CATEGORIES, ReplySettings

BRAND = BrandSettings(name="Brand")
STATUS = "https://status.brand.example"
WHEN = datetime(2026, 3, 10, 8, 5, tzinfo=UTC)
INCIDENT = IncidentContext(id="inc-1", title="app down", category="app_bug_outage", size=14, status="active")


def drafter_for(tmp_path: Path | None = None, **settings: object):
    return build_drafter(ReplySettings.model_validate(settings), BRAND, tmp_path or Path("."))


@pytest.fixture(scope="module")
def drafter():
    return drafter_for()


@pytest.fixture(scope="module")
def kak_drafter():
    return drafter_for(register="kak", status_page_url=STATUS, signature="^Rina")


def mention(text: str = "my top-up failed", *, platform: str = "x", id: str = "1", author: str = "budi_88") -> Mention:
    return Mention(id=id, platform=platform, author=author, text=text, created_at=WHEN)


def verdict(lang: str = "en", category: str = "payment_billing", urgency: Urgency = Urgency.HIGH) -> Classification:
    return Classification(lang=lang, is_complaint=True, complaint_score=0.9, urgency=urgency, category=category)


# -- the whole matrix -------------------------------------------------------


@pytest.mark.parametrize("config", ["default", "kak+status+signature"])
def test_every_template_combination_obeys_every_rule(config, drafter, kak_drafter):
    result = lint_matrix(drafter if config == "default" else kak_drafter)
    assert result.combinations == 2 * len(CATEGORIES) * len(Urgency) * 5 * 2 * 2
    assert result.drafts > result.combinations
    assert result.failures == [], "\n".join(f"{f.combination}: {f.problems}\n  {f.text}" for f in result.failures[:5])


# -- personal data ----------------------------------------------------------

PERSONAL = [
    ("en", "Call me back on 0812-3456-7890, nobody answers", "0812-3456-7890"),
    ("id", "tolong hubungi wa saya +62 812 3456 7890 udah 3 hari", "+62 812 3456 7890"),
    ("id", "hp saya 6281234567890 gak bisa login", "6281234567890"),
    ("en", "my email is budi.santoso@gmail.com, reset never arrives", "budi.santoso@gmail.com"),
    ("en", "order #A1B2C3D4 still not here after 2 weeks", "A1B2C3D4"),
    ("id", "TRX-2026-88812 saldo kepotong 2x min", "TRX-2026-88812"),
    ("id", "INV/2026/03/0042 belum diproses", "INV/2026/03/0042"),
    ("id", "NIK saya 3201234567890123 dipakai orang lain", "3201234567890123"),
    ("en", "card 4111 1111 1111 1111 charged twice", "4111 1111 1111 1111"),
    ("id", "no rek 1234567890 belum masuk refundnya", "1234567890"),
    ("en", "account number 88412345 locked", "88412345"),
]


@pytest.mark.parametrize(("lang", "text", "secret"), PERSONAL)
def test_personal_data_is_never_repeated_and_moves_the_conversation_to_dm(drafter, lang, text, secret):
    for category in CATEGORIES:
        draft = drafter.draft(mention(text), verdict(lang, category), None)
        digits = re.sub(r"\D", "", secret)
        assert secret.lower() not in draft.text.lower()
        assert not digits or digits not in re.sub(r"\D", "", draft.text)
        assert draft.needs_dm and draft.ok, draft.problems
        assert re.search(r"\bDM\b", draft.text)
        assert re.search(r"privacy|safe|personal|keamanan data|data pribadi", draft.text, re.IGNORECASE)


def test_plain_complaints_do_not_need_dm_except_fraud(drafter):
    assert not drafter.draft(mention("the app keeps crashing"), verdict("en", "app_bug_outage"), None).needs_dm
    assert drafter.draft(mention("someone took my money"), verdict("en", "security_fraud"), None).needs_dm


@pytest.mark.parametrize(
    "text",
    [
        "top up 100000 gagal",
        "kepotong Rp 150.000",
        "charged $1,500,000",
        "version 2.3 keeps crashing",
        "since 2024",
        "jam 10.30 tadi",
        "down since 2026-03-10",
        "tgl 10-03-2026",
        "customer from 2020-2024",
        "no 2024",
    ],
)
def test_amounts_versions_and_times_are_not_personal_data(text):
    assert find_personal_data(text) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("wa +62-812-3456-7890", "phone"),
        ("(021) 555-1234", "phone"),
        ("+1 (415) 555-0100", "phone"),
        ("wa.me/628123456789", "phone"),
        ("card 4111-1111-1111-1111", "card"),
        ("NIK 3201234567890123", "nik_or_card"),
        ("resi JP1234567890", "reference"),
        ("kode booking ABC123", "reference"),
        ("BCA 1234567890", "number"),
        ("mail me: Budi.S@Example.co.id", "email"),
    ],
)
def test_personal_data_forms_are_recognised(text, kind):
    assert [d.kind for d in find_personal_data(text)] == [kind]


def test_handles_and_links_are_not_personal_data():
    assert find_personal_data("@budi_1988 see https://x.com/a/status/1234567890123") == []


# -- tricky mentions --------------------------------------------------------


def test_html_in_the_mention_never_reaches_the_draft(drafter):
    text = '<script>alert("x")</script><b>app</b> error &amp; crash <img src=x onerror=alert(1)>'
    draft = drafter.draft(mention(text, author="<b>evil</b>"), verdict("en", "app_bug_outage"), None)
    assert "<" not in draft.text and "&amp;" not in draft.text
    assert draft.text.startswith("We") or draft.text.startswith("Sorry") or draft.text.startswith("Thank")
    assert draft.ok, draft.problems


def test_very_long_mention_still_gives_a_draft_within_the_limit(drafter):
    text = ("kenapa saldo saya kepotong terus padahal transaksi gagal " * 400)[:20_000]
    draft = drafter.draft(mention(text), verdict("id", "payment_billing"), None)
    assert draft.ok, draft.problems
    assert reply_length(draft.text, "x") <= 280


@pytest.mark.parametrize(
    ("classified_as", "expected"),
    [("en", "en"), ("id", "id"), ("in", "id"), ("id-ID", "id"), ("ms", "en"), ("fr", "en"), ("", "en")],
)
def test_draft_is_in_the_mention_language_or_the_team_default(drafter, classified_as, expected):
    draft = drafter.draft(mention("app error terus, please fix asap"), verdict(classified_as), None)
    assert draft.lang == expected
    assert draft.ok, draft.problems


def test_other_languages_use_the_configured_default():
    draft = drafter_for(default_language="id").draft(mention("ça ne marche pas"), verdict("fr"), None)
    assert draft.lang == "id" and draft.ok
    assert "maaf" in draft.text.lower()


def test_mixed_language_mention_gets_one_language_only(drafter):
    draft = drafter.draft(
        mention("app-nya error terus, so annoying, tolong fix"), verdict("id", "app_bug_outage"), None
    )
    assert draft.lang == "id" and draft.ok, draft.problems
    assert not re.search(r"\b(the|we're|sorry|please)\b", draft.text, re.IGNORECASE)


def test_unknown_category_is_drafted_as_other(drafter):
    draft = drafter.draft(mention(), verdict("en", "weather_complaints"), None)
    assert draft.ok, draft.problems
    assert "trouble you've had" in draft.text


# -- incidents --------------------------------------------------------------


def test_incident_draft_says_the_team_knows_and_links_the_status_page(kak_drafter):
    for n in range(10):
        draft = kak_drafter.draft(mention(id=f"m{n}"), verdict("en", "app_bug_outage"), INCIDENT)
        assert "working on" in draft.text
        assert STATUS in draft.text
        assert draft.template.startswith("en/incident")
        assert draft.ok, draft.problems


def test_indonesian_incident_draft(kak_drafter):
    draft = kak_drafter.draft(mention("app error terus"), verdict("id", "app_bug_outage"), INCIDENT)
    assert re.search(r"sedang (memperbaiki|menangani|bekerja)", draft.text)
    assert STATUS in draft.text and draft.ok


@pytest.mark.parametrize("status", ["candidate", "resolved", "merged"])
def test_a_group_that_is_not_an_open_incident_is_treated_as_a_single_case(drafter, status):
    draft = drafter.draft(mention(), verdict("en", "app_bug_outage"), replace(INCIDENT, status=status))
    assert "working on" not in draft.text
    assert not draft.template.startswith("en/incident")


def test_incident_draft_asks_for_account_details_only_if_needed(drafter):
    draft = drafter.draft(mention("login error again"), verdict("en", "access_login"), INCIDENT)
    assert "phone number" not in draft.text and re.search(r"\bDM\b", draft.text)
    assert draft.template.startswith("en/incident") and draft.ok


def test_incident_without_status_page_promises_an_update_instead(drafter):
    draft = drafter.draft(mention(id="7"), verdict("en", "app_bug_outage"), INCIDENT)
    assert "http" not in draft.text and draft.ok


# -- length -----------------------------------------------------------------


def test_x_drafts_fit_280_characters_including_the_handle(kak_drafter):
    handle = "a_long_handle15"
    for n in range(40):
        for lang in ("en", "id"):
            for category in CATEGORIES:
                draft = kak_drafter.draft(
                    mention(PERSONAL[n % len(PERSONAL)][1], id=str(n), author=handle),
                    verdict(lang, category),
                    INCIDENT if n % 3 == 0 else None,
                )
                assert draft.text.startswith("@" + handle + " ")
                assert reply_length(draft.text, "x") <= 280, draft.text
                assert draft.ok, draft.problems


def test_x_length_counts_urls_as_23_and_emoji_as_two():
    assert reply_length("a" * 10 + " https://example.com/" + "x" * 80, "x") == 11 + 23
    assert reply_length("ok 🙏", "x") == 5
    assert reply_length("ok 🙏", "mastodon") == 4


def test_shortening_keeps_whole_words_and_the_check_back(drafter):
    tight = drafter_for(max_length={"x": 200})
    full = drafter.draft(mention(id="9"), verdict("id", "delivery", Urgency.MEDIUM), None)
    short = tight.draft(mention(id="9"), verdict("id", "delivery", Urgency.MEDIUM), None)
    assert len(short.text) <= 200 < len(full.text)
    assert short.text.endswith("?") or short.text.endswith("🙏")
    assert short.ok, short.problems


def test_a_limit_too_tight_to_meet_is_flagged_never_cut():
    draft = drafter_for(max_length={"x": 80}).draft(mention(), verdict("en"), None)
    assert not draft.ok
    assert any("too long" in p for p in draft.problems)
    assert draft.text.rstrip(" 🙏").endswith("?")


def test_reddit_and_rss_replies_do_not_tag_the_author(drafter):
    for platform in ("reddit", "rss"):
        draft = drafter.draft(mention(platform=platform), verdict(), None)
        assert not draft.text.startswith("@") and draft.ok


def test_mastodon_handle_with_instance_is_kept_whole(drafter):
    draft = drafter.draft(mention(platform="mastodon", author="budi@mastodon.social"), verdict(), None)
    assert draft.text.startswith("@budi@mastodon.social ") and draft.ok, draft.problems


# -- register and tone -----------------------------------------------------


@pytest.mark.parametrize(
    ("register", "word", "other"), [("anda", r"\bAnda\b", r"\bKak"), ("Kak", r"\bKak(ak)?\b", r"\bAnda\b")]
)
def test_indonesian_drafts_use_the_configured_courteous_register_and_no_slang(register, word, other):
    drafter = drafter_for(register=register)
    for n in range(30):
        text = "min gak bisa login udah 3x bgt, tolong dong"
        draft = drafter.draft(
            mention(text, id=str(n)), verdict("id", CATEGORIES[n % len(CATEGORIES)], Urgency.MEDIUM), None
        )
        assert re.search(word, draft.text) and not re.search(other, draft.text)
        words = set(re.findall(r"[a-z]+", draft.text.lower()))
        assert not words & set(INDONESIAN_SLANG), words & set(INDONESIAN_SLANG)
        assert draft.ok, draft.problems


def test_critical_drafts_are_direct_without_emoji(drafter):
    for n in range(30):
        draft = drafter.draft(mention(id=str(n)), verdict("en", "security_fraud", Urgency.CRITICAL), None)
        assert "priority" in draft.text and "specialist" in draft.text
        assert not re.search(r"[\U0001F000-\U0001FAFF]", draft.text)


def test_five_steps_in_order(drafter):
    draft = drafter.draft(mention(id="5"), verdict("en", "delivery", Urgency.MEDIUM), None)
    text = draft.text
    apology = re.search(r"sorry|apologi", text, re.IGNORECASE).start()
    dm = re.search(r"\bDM\b", text).start()
    assert apology < dm and text.rstrip(" 🙏").endswith("?")
    assert re.search(r"\b(replacement|specialist)\b", text)  # delivery's allowed offers


# -- variety ----------------------------------------------------------------


def test_same_mention_same_draft_and_twenty_mentions_vary(drafter):
    first = drafter.draft(mention(id="42"), verdict(), None)
    assert drafter_for().draft(mention(id="42"), verdict(), None) == first
    texts = {drafter.draft(mention(id=f"n{n}"), verdict(urgency=Urgency.MEDIUM), None).text for n in range(20)}
    assert len(texts) >= 5


# -- strategy ---------------------------------------------------------------


def test_drafts_only_offer_what_the_category_allows(drafter):
    for n in range(40):
        text = drafter.draft(mention(id=str(n)), verdict("en", "pricing_fees", Urgency.MEDIUM), None).text
        assert "refund" not in text.lower() and "replacement" not in text.lower()
        text = drafter.draft(mention(id=str(n)), verdict("id", "pricing_fees", Urgency.MEDIUM), None).text
        assert "pengembalian dana" not in text.lower()


def test_a_category_without_offers_only_promises_to_look_into_it():
    drafter = drafter_for(strategy={"delivery": {"offers": []}})
    draft = drafter.draft(mention(), verdict("en", "delivery"), None)
    assert draft.template.startswith("en/resolve_investigate") and draft.ok, draft.problems
    assert "replacement" not in draft.text and "specialist" not in draft.text


def test_status_page_offer_is_skipped_until_a_url_is_configured(drafter):
    only_status = {"app_bug_outage": {"offers": ["status_page"]}}
    without = drafter_for(strategy=only_status).draft(mention(), verdict("en", "app_bug_outage"), None)
    assert without.template.startswith("en/resolve_investigate")
    with_url = drafter_for(strategy=only_status, status_page_url=STATUS).draft(
        mention(), verdict("en", "app_bug_outage"), None
    )
    assert STATUS in with_url.text and with_url.ok


# -- the linter on hand-written text ---------------------------------------


def lint(text: str, lang: str = "en", source: str = "charged twice, call 0812-3456-7890", **settings: object):
    return lint_draft(text, mention(source), verdict(lang), ReplySettings.model_validate(settings))


def test_linter_accepts_a_good_draft():
    good = (
        "@budi_88 We're sorry about the payment, we know it's worrying. For your privacy, could you DM us the time?"
        " We'll check it. Does that work for you?"
    )
    assert lint(good) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("@b Sorry! DM us at once. We'll fix it. Call 0812-3456-7890? Does that work?", "repeats personal data"),
        ("@b Sorry, DM us. We'll fix it, write to help@brand.com. Does that work?", "contains personal data"),
        ("@b We got it. DM us. We'll fix it. Does that work?", "acknowledgement"),
        ("@b Sorry about it. We'll fix it. Does that work for you?", "clarification"),
        ("@b Sorry about it, DM us. Does that work for you?", "resolution"),
        ("@b Sorry about it, DM us, we'll fix it.", "check-back"),
        ("@b Sorry {{ name }}, DM us, we'll fix it. Does that work?", "template syntax"),
        ("@b Sorry, calm down and DM us, we'll fix it. Does that work?", "banned phrase"),
        ("@b Sorry <b>really</b>, DM us, we'll fix it. Does that work?", "markup"),
        ("@b Sorry, DM us, we'll fix it. Does that work for you? " + "x" * 280, "too long"),
    ],
)
def test_linter_names_each_broken_rule(text, problem):
    assert any(problem in p for p in lint(text)), lint(text)


def test_linter_catches_slang_wrong_register_and_wrong_language():
    slang = "@b Maaf ya kak, udah kami cek, DM aja. Kami akan bantu. Gimana?"
    problems = lint(slang, "id")
    assert any("slang" in p for p in problems) and any("Anda" in p for p in problems)
    assert any("language" in p for p in lint("@b Mohon maaf, kirim DM. Kami akan cek. Apakah membantu?", "en"))


def test_linter_uses_banned_phrases_from_config_and_never_promise_per_category():
    text = "@b Sorry, DM us, we'll send a voucher. Does that work?"
    assert any("voucher" in p for p in lint(text, banned_phrases=["voucher"]))
    text = "@b Sorry, DM us, we'll give compensation. Does that work?"
    assert any("compensation" in p for p in lint(text))  # payment_billing never promises it


# -- templates and overrides -----------------------------------------------


def write_override(folder: Path, name: str, body: str) -> None:
    path = folder / "overrides" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


def test_override_templates_are_used_before_the_bundled_ones(tmp_path):
    write_override(
        tmp_path,
        "en/check_back.j2",
        "{% block v1 %}Is that alright for you?{% endblock %}{% block short %}Alright?{% endblock %}",
    )
    drafter = drafter_for(tmp_path, templates_dir="overrides")
    draft = drafter.draft(mention(), verdict(), None)
    assert draft.text.endswith("Is that alright for you?") and draft.ok


def test_override_with_a_missing_variable_fails_at_build_time_naming_the_file(tmp_path):
    write_override(
        tmp_path,
        "en/acknowledge.j2",
        "{% block v1 %}Sorry, {{ customer_name }}.{% endblock %}{% block short %}Sorry.{% endblock %}",
    )
    with pytest.raises(ReplyTemplateError, match=r"acknowledge\.j2.*customer_name"):
        drafter_for(tmp_path, templates_dir="overrides")


def test_missing_variable_in_a_rarely_taken_branch_is_still_caught(tmp_path):
    body = (
        "{% block v1 %}{% if critical and incident %}{{ typo }}{% endif %}Sorry about {{ topic }}.{% endblock %}"
        "{% block short %}Sorry.{% endblock %}"
    )
    write_override(tmp_path, "id/acknowledge.j2", body)
    with pytest.raises(ReplyTemplateError, match="typo"):
        drafter_for(tmp_path, templates_dir="overrides")


def test_broken_template_syntax_names_the_line(tmp_path):
    write_override(tmp_path, "en/clarify.j2", "\n{% block v1 %}DM us {% if x %}{% endblock %}")
    with pytest.raises(ReplyTemplateError, match=r"clarify\.j2:\d+"):
        drafter_for(tmp_path, templates_dir="overrides")


def test_a_template_that_fails_when_rendered_is_refused_at_build_time(tmp_path):
    body = "{% block v1 %}{% if critical %}{{ incident_size + topic }}{% endif %}Sorry.{% endblock %}"
    write_override(tmp_path, "en/acknowledge.j2", body + "{% block short %}Sorry.{% endblock %}")
    with pytest.raises(ReplyTemplateError, match=r"acknowledge\.j2: block v1 cannot be rendered"):
        drafter_for(tmp_path, templates_dir="overrides")


def test_unknown_filter_is_refused(tmp_path):
    write_override(tmp_path, "en/acknowledge.j2", "{% block v1 %}{{ topic | shout }}{% endblock %}")
    with pytest.raises(ReplyTemplateError, match="shout"):
        drafter_for(tmp_path, templates_dir="overrides")


def test_template_without_short_phrasing_is_refused(tmp_path):
    write_override(tmp_path, "en/clarify.j2", "{% block v1 %}Could you DM us?{% endblock %}")
    with pytest.raises(ReplyTemplateError, match="short"):
        drafter_for(tmp_path, templates_dir="overrides")


def test_missing_override_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ReplyTemplateError, match="templates_dir"):
        drafter_for(tmp_path, templates_dir="nope")


def test_an_override_that_breaks_a_rule_gives_drafts_that_need_review(tmp_path):
    write_override(
        tmp_path,
        "en/check_back.j2",
        "{% block v1 %}Calm down, it's fixed.{% endblock %}{% block short %}Calm down.{% endblock %}",
    )
    draft = drafter_for(tmp_path, templates_dir="overrides").draft(mention(), verdict(), None)
    assert not draft.ok
    assert any("banned phrase" in p for p in draft.problems) and any("check-back" in p for p in draft.problems)


# -- settings ---------------------------------------------------------------


def test_empty_section_works_and_partial_sections_merge_with_defaults():
    settings = ReplySettings.model_validate(
        {"max_length": {"x": 250}, "strategy": {"delivery": {"offers": ["refund"]}}}
    )
    assert settings.max_length["x"] == 250 and settings.max_length["mastodon"] == 500
    assert settings.strategy["delivery"].offers == ["refund"]
    assert settings.strategy["payment_billing"].offers == ["refund", "specialist"]
    assert ReplySettings.model_validate({}).limit_for("rss") == 1000


@pytest.mark.parametrize(
    "bad",
    [
        {"registr": "kak"},
        {"register": "lu"},
        {"strategy": {"delivery": {"offers": ["free_money"]}}},
        {"status_page_url": "status page"},
        {"max_length": {"x": 20}},
        {"default_language": "fr"},
    ],
)
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValidationError):
        ReplySettings.model_validate(bad)

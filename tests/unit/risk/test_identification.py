"""Smart identification, the pure parts: text features, history examples, the sparse classifier, calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from smartcustoms.risk.identification import domain as D
from smartcustoms.risk.identification.domain import Example, HsText, Use

# A small nomenclature: enough headings for the classifier to choose among.
ENTRIES = (
    HsText("03", "Fish and crustaceans, molluscs and other aquatic invertebrates", "I"),
    HsText("0306", "Crustaceans; in shell or not, live, fresh, chilled, frozen, dried, salted or in brine", "I"),
    HsText("030617", "Crustaceans; frozen, shrimps and prawns, excluding cold-water varieties", "I"),
    HsText("22", "Beverages, spirits and vinegar", "IV"),
    HsText("2204", "Wine of fresh grapes, including fortified wines; grape must other than that of heading no. 2009", "IV"),
    HsText("220421", "Wine; still, in containers holding 2 litres or less", "IV"),
    HsText("2009", "Fruit or nut juices and vegetable juices, unfermented, not containing added spirit", "IV"),
    HsText("49", "Printed books, newspapers, pictures and other products of the printing industry", "X"),
    HsText("4901", "Printed books, brochures, leaflets and similar printed matter", "X"),
    HsText("85", "Electrical machinery and equipment and parts thereof", "XVI"),
    HsText("8517", "Telephone sets, including smartphones and other telephones for cellular or wireless networks", "XVI"),
    HsText("851713", "Telephone sets; smartphones for cellular or other wireless networks", "XVI"),
    HsText("8528", "Monitors and projectors; reception apparatus for television", "XVI"),
    HsText("852872", "Reception apparatus for television; colour", "XVI"),
    HsText(
        "8529", "Transmission apparatus; parts suitable for use solely or principally with the apparatus of heading no. 8525 to 8528", "XVI"
    ),
    HsText("8422", "Machinery for filling, closing, sealing or labelling bottles, cans, boxes, bags", "XVI"),
)
SECTIONS = {"I": "Live animals; animal products", "IV": "Prepared foodstuffs; beverages", "X": "Paper", "XVI": "Machinery"}
TEXTS = {e.code: e.description for e in ENTRIES if len(e.code) == 4}


@pytest.fixture(scope="module")
def clf() -> D.Classifier:
    return D.train(D.nomenclature_examples(ENTRIES, SECTIONS), TEXTS)


# --- text ----------------------------------------------------------------------------------------


def test_normalise_drops_cross_references_and_abbreviations() -> None:
    text = D.normalise("Motor vehicles; parts, of heading no. 8701 to 8705, n.e.c. in item no. 8708.1 (e.g. bumpers)")
    assert "8701" not in text and "8705" not in text and "n.e.c." not in text and "e.g." not in text
    assert "motor vehicles" in text and "bumpers" in text


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("batteries", "battery"),
        ("boxes", "box"),
        ("watches", "watch"),
        ("shrimps", "shrimp"),
        ("glass", "glass"),
        ("bus", "bus"),
        ("gas", "gas"),
    ],
)
def test_stem_takes_plurals_to_the_singular(word: str, stem: str) -> None:
    assert D.stem(word) == stem


def test_analyse_counts_qualifiers_half_until_the_next_clause() -> None:
    f = D.analyse("Red wine in bottles; cotton")
    assert f["w:red"] == f["w:wine"] == 1.0
    assert f["w:bottle"] == D.QUALIFIER_WEIGHT  # after "in"
    assert f["w:cotton"] == 1.0  # a semicolon starts a new clause
    assert f["w:red wine"] == 1.0 and f["w:wine bottle"] == D.QUALIFIER_WEIGHT
    assert "w:bottle cotton" not in f  # no bigram across clauses
    assert f["c: win"] == 1.0 and f["c:ottle"] == D.QUALIFIER_WEIGHT
    assert not any(k in f for k in ("w:in", "w:the", "c: in "))  # stop words are no features


def test_analyse_keeps_the_t_of_t_shirts_and_reads_any_script() -> None:
    assert "w:t shirt" in D.analyse("Cotton T-shirts, knitted")
    assert "w:смартфон" in D.analyse("Смартфон 128 ГБ")
    assert D.analyse("128 GB, 6.1") == {"w:gb": 1.0, "c: gb": 1.0, "c:gb ": 1.0, "c: gb ": 1.0}  # numbers are no features


def test_referenced_headings_of_parts_headings() -> None:
    assert D.referenced_headings("Motor vehicles; parts and accessories, of heading no. 8701 to 8705") == [
        "8701",
        "8702",
        "8703",
        "8704",
        "8705",
    ]
    assert D.referenced_headings("Aircraft; parts of goods of heading 8801, 8802 or 8806") == ["8801", "8802", "8806"]
    assert D.referenced_headings("Machinery; parts and accessories suitable for use with machines of headings 84.70 to 84.72") == [
        "8470",
        "8471",
        "8472",
    ]
    assert D.referenced_headings("Clothing accessories; parts of garments other than those of heading no. 6212") == []
    assert D.referenced_headings("Wine of fresh grapes; grape must other than that of heading no. 2009") == []  # no parts


def test_about_parts() -> None:
    assert D.about_parts("Parts of television receivers") and D.about_parts("Car accessories") and D.about_parts("spare part for pumps")
    assert not D.about_parts("Two-part epoxy adhesive") and not D.about_parts("Party balloons")


# --- the featurizer ----------------------------------------------------------------------------------


def test_a_text_reads_the_same_in_training_and_when_asked() -> None:
    parts = ["Frozen shrimps and prawns", "Red wine in bottles of 0.75 l", "Cotton T-shirts, knitted", "frozen wine"]
    featurizer, x = D.Featurizer.fit(parts, [[0], [1], [2], [3]], min_df_char=1)
    for row, text in enumerate(parts):
        idx, val = featurizer.vector(text)
        dense = np.zeros(featurizer.size)
        dense[idx] = val
        assert np.allclose(dense, x[row].toarray().ravel())
        assert math.isclose(float(val @ val), 1.0)


def test_an_example_made_of_parts_has_their_features() -> None:
    featurizer, x = D.Featurizer.fit(["Frozen shrimps", "and prawns", "Frozen shrimps and prawns"], [[0, 1], [2]], min_df_char=1)
    composed, whole = set(x[0].indices), set(x[1].indices)
    assert whole - composed == {featurizer.vocabulary["w:shrimp prawn"]}  # only the bigram across the two parts is missing
    assert composed < whole


def test_unknown_words_give_an_empty_vector(clf: D.Classifier) -> None:
    idx, val = clf.featurizer.vector("zzqx 12345")
    assert len(idx) == 0 and len(val) == 0
    assert clf.suggest("zzqx 12345") == [] and clf.probabilities("zzqx") is None


# --- examples ----------------------------------------------------------------------------------------


def test_nomenclature_examples_cover_every_level() -> None:
    ex = D.nomenclature_examples(ENTRIES, SECTIONS)
    assert {e.heading for e in ex} == set(TEXTS)
    shrimps = [e for e in ex if e.heading == "0306"]
    assert any(e.text.startswith("Crustaceans; frozen, shrimps") and not e.context for e in shrimps)  # the subheading alone
    assert any(e.text.startswith("Crustaceans; frozen, shrimps") and e.context == (TEXTS["0306"],) for e in shrimps)  # with its heading
    assert any(e.context == (ENTRIES[0].description, SECTIONS["I"]) for e in shrimps)  # the heading with chapter and section
    parts = [e for e in ex if e.heading == "8529" and e.context and TEXTS["8528"] in e.context]
    assert parts and parts[0].weight == D.PARTS_CONTEXT_WEIGHT  # parts of the goods of 8525 to 8528 read with their texts


def test_history_counts_traders_not_lines_and_drops_minority_headings() -> None:
    uses = [Use("Smartphones 128 GB", "8517130000", "BIG")] * 500
    uses += [Use("smartphones, 128 gb", "8517130000", "SMALL")]
    uses += [Use("Smartphones 128 GB", "4901990000", "CHEAT")] * 3  # accepted, but a minority of this description's uses
    uses += [Use("Smartphones 128 GB", "9999999999", "X")]  # not a heading we know
    ex = D.history_examples(uses, headings=frozenset({"8517", "4901"}))
    assert [(e.heading, e.text) for e in ex] == [("8517", "Smartphones 128 GB")]
    assert math.isclose(ex[0].weight, D.HISTORY_WEIGHT * (1 + math.log(2)))  # two traders, however many lines


def test_history_is_capped_per_heading_and_per_trader() -> None:
    uses = [Use(f"Gadget model {chr(65 + i)}{chr(65 + j)}", "8517130000", "BIG") for i in range(10) for j in range(10)]
    uses += [Use(f"Phone variant {chr(65 + i)}", "8517130000", f"T{i}{n}") for i in range(20) for n in range(3)]
    ex = D.history_examples(uses)
    assert sum(e.text.startswith("Gadget") for e in ex) == D.MAX_PER_TRADER  # one trader alone cannot fill the heading
    assert len(ex) == 20 + D.MAX_PER_TRADER
    assert math.isclose(sum(e.weight for e in ex), D.HEADING_CAP)


# --- the classifier ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "heading"),
    [
        ("Frozen shrimps and prawns", "0306"),
        ("Red wine in bottles of 0.75 l", "2204"),
        ("Smartphones, 6.1 inch, 128 GB", "8517"),
        ("Colour television receivers", "8528"),
        ("Parts of television receivers", "8529"),
    ],
)
def test_suggests_the_heading(clf: D.Classifier, text: str, heading: str) -> None:
    top = clf.suggest(text, 3)
    assert top[0].heading == heading
    assert top[0].text == TEXTS[heading]
    assert [s.probability for s in top] == sorted((s.probability for s in top), reverse=True)


def test_probabilities_sum_to_one_and_k_is_bounded(clf: D.Classifier) -> None:
    p = clf.probabilities("frozen shrimps")
    assert p is not None and math.isclose(float(p.sum()), 1.0)
    assert len(clf.suggest("frozen shrimps", 100)) == clf.size
    assert len(clf.suggest("frozen shrimps", 0)) == 1


def test_check_flags_a_disagreeing_line_only(clf: D.Classifier) -> None:
    items = [
        {"line": 1, "hs_code": "4901990000", "description": "Smartphones, 6.1 inch, 128 GB"},
        {"line": 2, "hs_code": "8517130000", "description": "Smartphones, 6.1 inch, 128 GB"},
        {"line": 3, "hs_code": "4901990000", "description": ""},
        {"line": 4, "hs_code": "", "description": "Smartphones"},
        {"line": 5, "hs_code": "4901990000", "description": "zzqx"},
    ]
    (m,) = clf.check(items, threshold=0.5)
    assert (m.line, m.declared_heading, m.suggested_heading) == (1, "4901", "8517")
    assert m.probability >= 0.5 and m.suggested_text == TEXTS["8517"]
    assert m.as_dict()["suggested_heading"] == "8517"
    assert m.chapter_probability is not None and m.chapter_probability < clf.chapter_threshold
    assert clf.check(items, threshold=1.01) == [m]  # never sure enough of the top heading, but surely not of chapter 49
    assert clf.calibrated(chapter_threshold=0.0).check(items, threshold=1.01) == []  # neither rule


def test_check_counts_the_line_position_when_no_line_number(clf: D.Classifier) -> None:
    (m,) = clf.check([{"hs_code": "8517", "description": "Smartphones"}, {"hs_code": "4901", "description": "Smartphones"}], threshold=0.5)
    assert m.line == 2


def test_a_third_place_of_no_probability_does_not_excuse_a_declaration(clf: D.Classifier) -> None:
    top = clf.suggest("Smartphones for cellular networks", 3)
    tiny = next((s for s in top[1:] if s.probability < D.AGREE_PROBABILITY), None)
    assert tiny is not None
    line = {"hs_code": tiny.heading + "00", "description": "Smartphones for cellular networks"}
    same_chapter_only = clf.calibrated(chapter_threshold=0.0)
    assert same_chapter_only.check([line], threshold=0.5, agree_probability=0.0) == []  # the literal top-3 rule lets it pass
    assert same_chapter_only.check([line], threshold=0.5)  # the default does not


def test_scored_flagged_agrees_with_check(clf: D.Classifier) -> None:
    pairs = [("Smartphones", "8517"), ("Smartphones", "4901"), ("Frozen shrimps", "0306"), ("Frozen shrimps", "2204")]
    for s, (text, heading) in zip(D.score_pairs(clf, pairs), pairs, strict=True):
        assert s.flagged(0.5) == bool(clf.check([{"hs_code": heading, "description": text}], threshold=0.5))


def test_accuracy_false_flags_and_threshold(clf: D.Classifier) -> None:
    scored = D.score_pairs(clf, [("Smartphones", "8517"), ("Frozen shrimps", "0306"), ("Smartphones", "4901"), ("zzqx", "4901")])
    acc = D.accuracy(scored)
    assert acc == {"n": 4, "top1": 0.5, "top3": 0.5}
    assert D.accuracy(scored, [3, 1, 0, 0])["top1"] == 1.0
    assert D.false_flag_rate(scored, 0.5) == 0.25  # "Smartphones" taken as rightly declared under 4901
    assert D.choose_threshold(scored, target=0.3) == 0.5
    assert D.choose_threshold(scored, target=0.0) > scored[2].top_probability
    assert D.accuracy([]) == {"n": 0, "top1": None, "top3": None}


def test_temperature_fit_prefers_softer_probabilities_for_wrong_labels(clf: D.Classifier) -> None:
    right = D.fit_temperature(clf, [("Smartphones", "8517"), ("Frozen shrimps", "0306")])
    wrong = D.fit_temperature(clf, [("Smartphones", "0306"), ("Frozen shrimps", "8517")])
    assert wrong > right


def test_history_teaches_what_traders_write() -> None:
    uses = [Use("Handy Galaxy A54", "8517130000", f"T{i}") for i in range(3)]
    clf = D.train(D.nomenclature_examples(ENTRIES, SECTIONS) + D.history_examples(uses), TEXTS)
    assert clf.suggest("Handy Galaxy A54 black")[0].heading == "8517"


def test_calibrated_and_info_keep_the_model(clf: D.Classifier) -> None:
    other = clf.calibrated(temperature=2.0, threshold=0.9).with_info(note="x")
    assert (other.temperature, other.threshold, other.info["note"]) == (2.0, 0.9, "x")
    assert other.suggest("Smartphones")[0].heading == clf.suggest("Smartphones")[0].heading
    assert other.suggest("Smartphones")[0].probability < clf.suggest("Smartphones")[0].probability
    with pytest.raises(ValueError, match="no training examples"):
        D.train([], {})
    assert Example("x", "0101").weight == 1.0

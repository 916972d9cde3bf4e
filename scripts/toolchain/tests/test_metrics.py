import numpy as np
import pytest

from toolchain.evaluate import (agreement, best_threshold, confusion_matrix, evaluate_scores, parse_classify_output,
                                score_difference)


def test_f1_optimal_threshold_against_a_hand_computed_case():
    # cut 0.9: P=1 R=1/3 F1=.5 | 0.8: 1, 2/3, .8 | 0.7: 2/3, 2/3, .667 | 0.6: 3/4, 1, 6/7
    # 0.3: 3/5, 1, .75 | 0.2: 1/2, 1, .667  -> best cut 0.6, threshold midway to 0.3
    m = best_threshold([0.9, 0.8, 0.7, 0.6, 0.3, 0.2], [1, 1, 0, 1, 0, 0])
    assert m.assumed_threshold == pytest.approx(0.45)
    assert (m.tp, m.fp, m.fn, m.test_images) == (3, 1, 0, 3)
    assert m.precision == pytest.approx(0.75) and m.recall == 1.0 and m.f1 == pytest.approx(6 / 7)


def test_f1_ties_go_to_the_higher_threshold():
    # cut 0.8 and cut 0.2 both give F1 = 2/3; the higher one raises fewer false alarms.
    m = best_threshold([0.8, 0.6, 0.4, 0.2], [1, 0, 0, 1])
    assert m.f1 == pytest.approx(2 / 3)
    assert m.assumed_threshold == pytest.approx(0.7)


def test_threshold_reproduces_the_counted_decisions():
    rng = np.random.default_rng(3)
    s = rng.random(200)
    y = rng.random(200) < s  # higher score, more likely positive
    m = best_threshold(s, y)
    pred = s >= m.assumed_threshold
    assert m.tp == int((pred & y).sum()) and m.fp == int((pred & ~y).sum())


def test_no_positives_gives_zero_f1_not_a_crash():
    m = best_threshold([0.2, 0.1], [0, 0])
    assert m.f1 == 0.0 and m.test_images == 0


def test_confusion_matrix_rows_true_columns_predicted():
    assert confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], 2) == [[1, 1], [1, 2]]


def test_evaluate_scores_per_label_and_overall():
    scores = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.45, 0.55], [0.2, 0.8]])
    true = [0, 0, 1, 0, 1]
    ev = evaluate_scores(scores, true, ["clean", "dirty"], "onnxruntime")
    assert ev["confusion_matrix"] == [[2, 1], [0, 2]]
    assert ev["accuracy"] == pytest.approx(0.8)
    dirty = ev["per_label"]["dirty"]
    # dirty scores 0.8(+) 0.7(+) 0.55(-) 0.4(-) 0.1(-): cut at 0.7 is perfect, threshold (0.7+0.55)/2
    assert dirty["f1"] == 1.0 and dirty["assumed_threshold"] == pytest.approx(0.625)
    assert dirty["test_images"] == 2 and ev["per_label"]["clean"]["test_images"] == 3
    assert ev["overall"]["f1"] == pytest.approx((dirty["f1"] + ev["per_label"]["clean"]["f1"]) / 2)
    assert ev["evaluated_with"] == "onnxruntime" and ev["test_images"] == 5


def test_agreement_rate():
    assert agreement([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75
    with pytest.raises(ValueError):
        agreement([0, 1], [0])


def test_score_difference_between_two_runtimes():
    board = np.array([[0.9, 0.1], [0.48, 0.52], [0.2, 0.8]])
    reference = np.array([[0.9, 0.1], [0.51, 0.49], [0.25, 0.75]])
    d = score_difference(board, reference)
    assert d["max_abs"] == pytest.approx(0.05) and d["median_abs"] == pytest.approx(0.03)
    assert d["argmax_agreement"] == pytest.approx(2 / 3) and d["images"] == 3
    with pytest.raises(ValueError):
        score_difference(board, reference[:2])


def test_remotaird_classify_json_lines_are_mapped_to_label_order(tmp_path):
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    out = (f'{{"file": "{b}", "label": "dirty", "scores": {{"clean": 0.12, "dirty": 0.88}}, "ms": 3.1}}\n'
           f'{{"file": "{a}", "label": "clean", "scores": {{"dirty": 0.3, "clean": 0.7}}, "ms": 2.9}}\n')
    got = parse_classify_output(out, [a, b], ["clean", "dirty"])
    assert got.tolist() == [[0.7, 0.3], [0.12, 0.88]]
    with pytest.raises(ValueError, match="no result for"):
        parse_classify_output(out, [a, b, tmp_path / "c.jpg"], ["clean", "dirty"])
    with pytest.raises(ValueError, match="output line 1"):
        parse_classify_output('{"file": "x", "scores": {"clean": 1}}', [a], ["clean", "dirty"])

import json

import numpy as np

from toolchain.evaluate import agreement, evaluate_scores, render_markdown, write_report


def sample_report():
    labels = ["clean", "dirty"]
    f = evaluate_scores(np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]), [0, 1, 0, 1], labels,
                        "onnxruntime")
    q = evaluate_scores(np.array([[0.8, 0.2], [0.3, 0.7], [0.45, 0.55], [0.3, 0.7]]), [0, 1, 0, 1], labels,
                        "remotaird classify")
    return {
        "model": "duct-classifier.onnx", "model_version": "2026.11.27-1", "trained_at": "2026-11-27T23:00:00Z",
        "dataset_sha256": "ab" * 32, "labels": labels, "test_images": 4,
        "split": "stratified 80/20, seed 20",
        "agreement": {"rate": agreement(f["predictions"], q["predictions"]), "images": 4},
        "evaluations": {"float": f, "int8": q},
    }


def test_markdown_has_rekognition_columns_per_label_and_confusion_matrix():
    md = render_markdown(sample_report())
    assert "| Label | F1 score | Test images | Precision | Recall | Assumed threshold |" in md
    assert "## int8 model (evaluated with remotaird classify)" in md
    assert "## float model (evaluated with onnxruntime)" in md
    assert md.index("## int8 model") < md.index("## float model")
    # float: dirty scores .8+ .7+ .4- .1- -> perfect at threshold (0.7+0.4)/2
    assert "| dirty | 1.000 | 2 | 1.000 | 1.000 | 0.550 |" in md
    assert "| true \\ predicted | clean | dirty |" in md
    assert "| clean | 1 | 1 |" in md  # int8 confuses the 0.45/0.55 clean image
    assert "float/int8 agreement: 75.0% of 4 images" in md


def test_report_files_sit_next_to_the_model(tmp_path):
    model = tmp_path / "duct-classifier.onnx"
    md, js = write_report(sample_report(), model)
    assert md == tmp_path / "duct-classifier.report.md" and js == tmp_path / "duct-classifier.report.json"
    data = json.loads(js.read_text())
    assert set(data["evaluations"]["int8"]["per_label"]["dirty"]) >= {
        "f1", "precision", "recall", "test_images", "assumed_threshold"}
    assert md.read_text().startswith("# Evaluation: duct-classifier.onnx")

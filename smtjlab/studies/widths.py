"""Which widths reproduce the paper? (`smtjlab study widths`, issue 17)

arXiv 2504.06414 does not publish its hidden widths. This study trains the paper's networks
(1 or 3 hidden layers, 5 or 11 states, with SC at L = 100, bipolar by default) at several
widths, evaluates each on ideal bits at the paper's lengths with several stream seeds, and
finds, for each of the paper's figures, the setting whose accuracy lies nearest to it.

A task is one (depth, width, states): sc_training.train_and_score, evaluated at every length.
"""

from __future__ import annotations

from smtjlab.studies.sc_training import mean_sd

# The paper's published figures: (hidden layers, L) -> accuracy (%); "over 96" is taken as 96.
PAPER = {(1, 100): 92.0, (3, 100): 96.0, (3, 400): 96.82}
PAPER_LABELS = {(1, 100): "92", (3, 100): "over 96", (3, 400): "96.82 (its best cell)"}
WIDTHS = (32, 64, 128, 256)
LENGTHS = (100, 400)


def summarize(results: list[dict], sources: list[str]) -> list[dict]:
    """One row per (depth, width, states, length): the mean and sd over stream seeds, and
    where the model came from (`sources`, one per result)."""
    rows = []
    for result, source in zip(results, sources, strict=True):
        config = result["config"]
        for length in config["lengths"]:
            accuracies = [
                100 * row["accuracy"] for row in result["rows"] if row["length"] == length
            ]
            stats = mean_sd(accuracies)
            rows.append(
                {
                    "encoding": config["encoding"],
                    "hidden_layers": len(config["hidden"]),
                    "width": config["hidden"][0],
                    "states": config["states"],
                    "length": length,
                    "accuracy": stats["mean"],
                    "accuracy_sd": stats["sd"],
                    "deterministic": 100 * result["deterministic_accuracy"],
                    "stream_seeds": len(accuracies),
                    "model_source": source,
                }
            )
    return rows


def nearest_to_paper(rows: list[dict]) -> list[dict]:
    """For each of the paper's figures, the row of that depth and length nearest to it."""
    found = []
    for (depth, length), paper in PAPER.items():
        candidates = [r for r in rows if r["hidden_layers"] == depth and r["length"] == length]
        if not candidates:
            continue
        best = min(candidates, key=lambda r: abs(r["accuracy"] - paper))
        found.append(
            {
                "hidden_layers": depth,
                "length": length,
                "paper": paper,
                "paper_label": PAPER_LABELS[depth, length],
                "width": best["width"],
                "states": best["states"],
                "accuracy": best["accuracy"],
                "accuracy_sd": best["accuracy_sd"],
                "difference": best["accuracy"] - paper,
            }
        )
    return found

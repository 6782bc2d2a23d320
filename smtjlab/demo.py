"""The main job, end to end (`smtjlab demo`): the mock station by default, or any station.

Connect the station's instruments through the real PyVISA stack, calibrate the device levels
the model needs, fill one bit pool per level from the telegraph noise, then classify MNIST test
images with the shipped model on those bits. The device ends at 0 V with the output off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from smtjlab.acquisition.calibration import ArrayCalibration, Calibration
from smtjlab.bench import Bench
from smtjlab.console import progress
from smtjlab.inference.checkpoint import load_checkpoint
from smtjlab.inference.energy import EnergyParameters, compare
from smtjlab.inference.engine import ScEngine, deterministic_scores, device_levels
from smtjlab.inference.mnist import load_mnist
from smtjlab.station import Station

DEFAULT_MODEL = "mlp3-s11-sc"
DEFAULT_LENGTH = 100
SWEEP_LENGTHS = (100, 200, 300, 400, 500)  # the paper's
SWEEP_SEEDS = 5  # stream seeds per length, on the same images: the error bars' standard error
BITS_PER_LEVEL = 1 << 22
BATCH = 100

Step = Callable[[str], None]


@dataclass
class DemoResult:
    model: str
    length: int
    images: int
    accuracy: float
    images_per_s: float
    calibration: Calibration | ArrayCalibration
    pools: list[dict]
    accuracy_by_length: dict[int, float]  # mean over SWEEP_SEEDS stream seeds
    accuracy_by_length_sem: dict[int, float]  # its standard error over those seeds
    deterministic_accuracy: float  # the same images, L = infinity
    smu_final: list[str]
    energy: dict[str, Any]
    examples: tuple[np.ndarray, np.ndarray, np.ndarray] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "length": self.length,
            "images": self.images,
            "accuracy": self.accuracy,
            "images_per_s": self.images_per_s,
            "calibration": self.calibration.summary(),
            "pools": self.pools,
            "accuracy_by_length": {str(k): v for k, v in self.accuracy_by_length.items()},
            "accuracy_by_length_sem": {str(k): v for k, v in self.accuracy_by_length_sem.items()},
            "sweep_seeds": SWEEP_SEEDS,
            "deterministic_accuracy": self.deterministic_accuracy,
            "smu_final": self.smu_final,
            "energy": self.energy,
        }


def run_demo(
    *,
    images: int = 1000,
    length: int = DEFAULT_LENGTH,
    model: str = DEFAULT_MODEL,
    station: Station | None = None,
    seed: int = 0,
    bits_per_level: int = BITS_PER_LEVEL,
    step: Step = lambda _: None,
) -> DemoResult:
    """Calibrate, fill pools and classify `images` test images on `station` (default: mock)."""
    checkpoint = load_checkpoint(model)
    levels = device_levels(checkpoint)
    station = station or Station.mock("replay", seed)
    kind = f"mock bench ({station.simulation.source})" if station.simulation else station.where
    step(f"connecting the {kind} through PyVISA")
    array = len(station.devices) > 1
    with Bench.open(station) as bench:
        if array:
            step(f"calibrating {len(station.devices)} devices for {len(levels)} levels")
            calibration = bench.calibrate_array(levels)
            step(f"filling {len(levels)} bit pools from all devices at once")
            bank = bench.fill_array(calibration, bits_per_level)
        else:
            step(f"calibrating {len(levels)} device levels")
            calibration = bench.calibrate(levels)
            step(f"filling {len(levels)} bit pools from the telegraph noise")
            bank = bench.fill_bank(calibration, bits_per_level)
    smu_final = bench.final_state

    test_images, test_labels = load_mnist("test")
    order = np.random.default_rng(seed).permutation(len(test_images))[:images]
    chosen, labels = test_images[order], test_labels[order]

    step(f"classifying {images} images at L = {length}")
    engine = ScEngine(checkpoint, length, bits=bank, seed=seed)
    engine.predict(chosen[:1])  # compile first: the rate below is the engine's, not numba's
    started = time.perf_counter()
    batches = range(0, images, BATCH)
    predictions = np.concatenate(
        [
            engine.predict(chosen[i : i + BATCH])
            for i in progress(batches, f"batches of {BATCH} images", len(batches))
        ]
    )
    elapsed = time.perf_counter() - started
    accuracy = float(np.mean(predictions == labels))

    step(f"accuracy against L on the {images} images, {SWEEP_SEEDS} stream seeds each")
    by_length, sem = {}, {}
    for sweep_length in SWEEP_LENGTHS:
        runs = [
            np.mean(
                ScEngine(checkpoint, sweep_length, bits=bank, seed=seed + k).predict(chosen)
                == labels
            )
            for k in range(SWEEP_SEEDS)
        ]
        by_length[sweep_length] = float(np.mean(runs))
        sem[sweep_length] = float(np.std(runs, ddof=1) / np.sqrt(SWEEP_SEEDS))
    deterministic = float(np.mean(deterministic_scores(checkpoint, chosen).argmax(1) == labels))
    return DemoResult(
        model=model,
        length=length,
        images=images,
        accuracy=accuracy,
        images_per_s=images / elapsed,
        calibration=calibration,
        pools=bank.stats(),
        accuracy_by_length=by_length,
        accuracy_by_length_sem=sem,
        deterministic_accuracy=deterministic,
        smu_final=smu_final,
        energy=_energy(checkpoint, length),
        examples=(chosen[:8], labels[:8], predictions[:8]),
    )


def _energy(checkpoint, length: int) -> dict[str, Any]:
    """The energy/latency model's analog-vs-quantized ratios for this network (energy.py)."""
    result = compare(EnergyParameters(), checkpoint.widths, checkpoint.states, length)
    return {"ratios": result["ratios"], "paper": result["paper"], "widths": checkpoint.widths}


def write_report(result: DemoResult, path: str | Path) -> Path:
    """One figure: calibration curve, accuracy against L, and a few classified digits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    figure = plt.figure(figsize=(12, 6), layout="constrained")
    grid = figure.add_gridspec(2, 8, height_ratios=(2.2, 1))
    curve = figure.add_subplot(grid[0, :4])
    cal = result.calibration
    biases = np.array([point.bias_v for point in cal.points])
    smooth = np.linspace(biases.min(), biases.max(), 200)
    curve.plot(smooth, [cal.fit.p(v) for v in smooth], color="tab:blue", label="fitted sigmoid")
    curve.plot(
        biases, [point.p_high for point in cal.points], "o", color="tab:blue", ms=4, label="sweep"
    )
    curve.plot(
        [lv.bias_v for lv in cal.levels],
        [lv.p_measured for lv in cal.levels],
        "s",
        color="tab:red",
        ms=6,
        label="calibrated levels",
    )
    curve.set(xlabel="bias (V)", ylabel="P(high)", title="Device calibration (mock bench)")
    curve.legend(loc="upper left")
    curve.grid(alpha=0.3)

    sweep = figure.add_subplot(grid[0, 4:])
    lengths = list(result.accuracy_by_length)
    sweep.errorbar(
        lengths,
        [100 * result.accuracy_by_length[k] for k in lengths],
        yerr=[100 * result.accuracy_by_length_sem[k] for k in lengths],
        fmt="o-",
        capsize=4,
        label=f"SC engine: mean ± standard error of {SWEEP_SEEDS} stream seeds",
    )
    sweep.axhline(
        100 * result.deterministic_accuracy,
        color="grey",
        linestyle="--",
        label="deterministic network (L = ∞)",
    )
    sweep.set_xticks(lengths)
    sweep.set(
        xlabel="bitstream length L",
        ylabel="accuracy (%)",
        title=f"{result.model} on the same {result.images} images, device-pool bits",
    )
    sweep.legend(loc="lower right", fontsize=8)
    sweep.grid(alpha=0.3)

    digits, labels, predictions = result.examples
    for index, (image, label, predicted) in enumerate(
        zip(digits, labels, predictions, strict=True)
    ):
        axis = figure.add_subplot(grid[1, index])
        axis.imshow(image, cmap="gray_r")
        axis.set_title(
            f"read {predicted} (is {label})",
            color="tab:green" if predicted == label else "tab:red",
            fontsize=10,
        )
        axis.set_axis_off()
    figure.suptitle(
        f"smtjlab demo: {100 * result.accuracy:.1f} % on {result.images} MNIST test images "
        f"at L = {result.length} (synthetic device, mock bench)"
    )
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path

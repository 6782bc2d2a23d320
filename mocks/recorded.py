"""The shipped recording: synthetic s-MTJ traces the replay mocks play back.

`mocks/data/recorded_traces.h5` holds 17 traces made by the DESIGN §3 model (`mocks.smtj`
defaults) at bias points evenly spaced over V50 + w·logit(p) for p = 0.02 … 0.98, each 2^18
samples at 10 MS/s, stored as 8-bit ADC codes (int8, gzip) with `volts_per_code` and
`offset_volts`, labelled `source = "synthetic"`, with the true states. Regenerate it,
bit for bit, with

    python -m smtjlab.mocks.recorded -o mocks/data/recorded_traces.h5
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from smtjlab.acquisition.tracefile import TraceWriter
from smtjlab.mocks.bench import shipped_recording
from smtjlab.mocks.smtj import DeviceParams, SmtjDevice, adc_codes

SAMPLE_RATE = 10e6
SAMPLES = 1 << 18
POINTS = 17
P_RANGE = (0.02, 0.98)
ADC_BITS = 8
FULL_SCALE_V = (0.0, 0.25)  # covers both readout levels up to the highest bias point


def bias_points(points: int = POINTS, params: DeviceParams | None = None) -> np.ndarray:
    """Biases evenly spaced between the ones giving p = 0.02 and p = 0.98 on the sigmoid."""
    params = params or DeviceParams()
    low, high = (params.v50 + params.width * np.log(p / (1 - p)) for p in P_RANGE)
    return np.round(np.linspace(low, high, points), 4)


def generate(
    path: str | os.PathLike, *, points: int = POINTS, samples: int = SAMPLES, seed: int = 0
) -> Path:
    """Write the recording; the same arguments always give the same bytes."""
    path = Path(path)
    with TraceWriter(path) as writer:
        for index, bias in enumerate(bias_points(points)):
            device_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
            device = SmtjDevice(seed=device_seed)
            volts, states = device.sample(float(bias), samples, SAMPLE_RATE)
            codes, volts_per_code, offset_volts = adc_codes(volts, ADC_BITS, FULL_SCALE_V)
            name = f"bias_{bias:.4f}V"
            writer.create(
                name,
                sample_rate=SAMPLE_RATE,
                bias_voltage=float(bias),
                dtype=codes.dtype,
                volts_per_code=volts_per_code,
                offset_volts=offset_volts,
                compression="gzip",
                source="synthetic",
                device=f"smtjlab.mocks.smtj.SmtjDevice defaults, seed {device_seed}",
            )
            writer.append(name, codes)
            writer.write_states(name, states)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m smtjlab.mocks.recorded", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("-o", "--output", default=str(shipped_recording()), help="file to write")
    parser.add_argument("--points", type=int, default=POINTS, help="bias points")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="samples per bias point")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = generate(args.output, points=args.points, samples=args.samples, seed=args.seed)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

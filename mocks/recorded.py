"""The shipped recording: synthetic s-MTJ traces the replay mocks play back.

`mocks/data/recorded_traces.h5` holds 15 traces made by the DESIGN §3 model (`mocks.smtj`
defaults) at the biases V50 + w·logit(p) for the occupancies in `OCCUPANCIES` (0.02 … 0.98),
each 2^19 samples at 10 MS/s, stored as 8-bit ADC codes (int8, gzip) with `volts_per_code` and
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
SAMPLES = 1 << 19
# A lab records at its operating points: these span the sigmoid and include every device level
# the 5- and 11-state networks need, because a replay can only play occupancies it recorded.
OCCUPANCIES = (0.02, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.98)
ADC_BITS = 8
FULL_SCALE_V = (0.0, 0.25)  # covers both readout levels up to the highest bias point


def bias_points(
    occupancies: tuple[float, ...] = OCCUPANCIES, params: DeviceParams | None = None
) -> np.ndarray:
    """The biases at which the model's sigmoid gives each occupancy, rounded to 0.1 mV."""
    params = params or DeviceParams()
    p = np.asarray(occupancies, dtype=float)
    return np.round(params.v50 + params.width * np.log(p / (1 - p)), 4)


def generate(
    path: str | os.PathLike,
    *,
    occupancies: tuple[float, ...] = OCCUPANCIES,
    samples: int = SAMPLES,
    seed: int = 0,
) -> Path:
    """Write the recording; the same arguments always give the same bytes."""
    path = Path(path)
    with TraceWriter(path) as writer:
        for index, bias in enumerate(bias_points(occupancies)):
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
    parser.add_argument(
        "--occupancies", type=float, nargs="+", default=OCCUPANCIES, help="p of each bias point"
    )
    parser.add_argument("--samples", type=int, default=SAMPLES, help="samples per bias point")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = generate(
        args.output, occupancies=tuple(args.occupancies), samples=args.samples, seed=args.seed
    )
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

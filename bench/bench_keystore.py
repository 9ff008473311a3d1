"""Keystore unlock time with KdfParams.DEFAULT, as a ratio to one raw Argon2id derivation.

Run: .venv/bin/python bench/bench_keystore.py [--rounds N]
The ratio shows what the keystore adds on top of the KDF (file read, HKDF, AES-GCM, JSON,
key parsing); it should stay close to 1.0. Absolute numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from argon2.low_level import Type, hash_secret_raw  # noqa: E402

from core.keys.keystore import KdfParams, Keystore  # noqa: E402

PASSPHRASE = "correct horse battery staple"


def _timed(action, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keys", type=int, default=10, help="keys in the benchmark keystore")
    args = parser.parse_args()
    params = KdfParams.DEFAULT
    print(f"KdfParams.DEFAULT: Argon2id t={params.time_cost}, m={params.memory_kib} KiB "
          f"({params.memory_kib // 1024} MiB), p={params.parallelism}; cpus={os.cpu_count()}")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.keystore"
        store = Keystore.create(path, passphrase=PASSPHRASE, kdf=params)
        for index in range(args.keys):
            store.generate(f"key-{index}", "ecdsa-p256" if index % 2 else "ed25519")
        store.close()
        salt = os.urandom(16)

        def raw() -> None:
            hash_secret_raw(PASSPHRASE.encode(), salt, time_cost=params.time_cost, memory_cost=params.memory_kib,
                            parallelism=params.parallelism, hash_len=32, type=Type.ID)

        def unlock() -> None:
            Keystore.open(path, passphrase=PASSPHRASE).close()

        raw()  # warm-up: first allocation of the Argon2 memory
        # interleave so both see the same machine load
        raw_times, unlock_times = [], []
        for _ in range(args.rounds):
            raw_times += _timed(raw, 1)
            unlock_times += _timed(unlock, 1)
    raw_median, unlock_median = statistics.median(raw_times), statistics.median(unlock_times)
    print(f"raw argon2 hash_secret_raw: median {raw_median * 1000:.1f} ms "
          f"(min {min(raw_times) * 1000:.1f}, max {max(raw_times) * 1000:.1f}) over {args.rounds} rounds")
    print(f"keystore unlock ({args.keys} keys): median {unlock_median * 1000:.1f} ms "
          f"(min {min(unlock_times) * 1000:.1f}, max {max(unlock_times) * 1000:.1f})")
    print(f"ratio unlock / raw argon2: {unlock_median / raw_median:.3f} (medians), "
          f"{min(unlock_times) / min(raw_times):.3f} (minimums, least disturbed by other load)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

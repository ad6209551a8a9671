#!/usr/bin/python3
"""Reference DCGAN training throughput in PyTorch (the pytorch/examples dcgan recipe) on this CPU.

Run by packages/gan/bench/train.ts with Debian's /usr/bin/python3 (python3-torch), OPENBLAS_NUM_THREADS=1
and --threads matching the tfjs backend under test. Prints one JSON object on its last line:
{"torch": version, "threads": n, "results": [{"name", "resolution", "batch", "width", "img_per_s", "repeats": [...], "img_per_cpu_s"}]}
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn


def generator(res: int, nz: int, ngf: int) -> nn.Module:
    n = {32: 3, 64: 4, 128: 5}[res]
    chans = [ngf * 2 ** (n - 1 - i) for i in range(n)]
    layers = [nn.ConvTranspose2d(nz, chans[0], 4, 1, 0, bias=False), nn.BatchNorm2d(chans[0]), nn.ReLU(True)]
    for i in range(1, n):
        layers += [nn.ConvTranspose2d(chans[i - 1], chans[i], 4, 2, 1, bias=False), nn.BatchNorm2d(chans[i]), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(chans[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(res: int, ndf: int) -> nn.Module:
    n = {32: 3, 64: 4, 128: 5}[res]
    chans = [ndf * 2 ** i for i in range(n)]
    layers = [nn.Conv2d(3, chans[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    for i in range(1, n):
        layers += [nn.Conv2d(chans[i - 1], chans[i], 4, 2, 1, bias=False), nn.BatchNorm2d(chans[i]), nn.LeakyReLU(0.2, inplace=True)]
    layers += [nn.Conv2d(chans[-1], 1, 4, 1, 0, bias=False)]
    return nn.Sequential(*layers)


def init_weights(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def bench(res: int, batch: int, width: int, steps: int, repeats: int, warmup: int, nz: int = 100) -> dict:
    torch.manual_seed(0)
    G, D = generator(res, nz, width), discriminator(res, width)
    G.apply(init_weights)
    D.apply(init_weights)
    optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loss = nn.BCEWithLogitsLoss()
    real = torch.rand(batch, 3, res, res) * 2 - 1
    ones, zeros = torch.ones(batch), torch.zeros(batch)

    def step() -> None:
        # One iteration of pytorch/examples dcgan: D on real + detached fake, then G (non-saturating).
        noise = torch.randn(batch, nz, 1, 1)
        D.zero_grad()
        err_real = loss(D(real).view(-1), ones)
        err_real.backward()
        fake = G(noise)
        err_fake = loss(D(fake.detach()).view(-1), zeros)
        err_fake.backward()
        optD.step()
        G.zero_grad()
        err_g = loss(D(fake).view(-1), ones)
        err_g.backward()
        optG.step()
        float(err_real + err_fake), float(err_g)  # read the losses back, as a training loop logs them

    for _ in range(warmup):
        step()
    rates, cpu_rates = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        rates.append(steps * batch / (time.perf_counter() - t0))
        cpu_rates.append(steps * batch / (time.process_time() - c0))
    return {
        "resolution": res, "batch": batch, "width": width,
        "img_per_s": statistics.median(rates), "repeats": rates,
        # images per CPU-second of this process: less sensitive to other load on a shared machine
        "img_per_cpu_s": statistics.median(cpu_rates),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", action="append", required=True, help="NAME:RES:BATCH:WIDTH:STEPS, repeatable")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    results = []
    for spec in args.config:
        name, res, batch, width, steps = spec.split(":")
        r = bench(int(res), int(batch), int(width), int(steps), args.repeats, args.warmup)
        r["name"] = name
        results.append(r)
        print(f"pytorch {name}: {r['img_per_s']:.1f} img/s", file=sys.stderr, flush=True)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()

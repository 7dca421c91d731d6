"""A bounded load test of `model-zoo serve`: requests per second and latency, with the server's
batching and without it (`--max-batch 1`), measured in one run of this script.

    python benchmarks/serving_load.py --model sentiment_bigru_rotten_tomatoes \\
        --clients 8 --requests 1000 --time-limit 120

Each setting starts its own server (a `model-zoo serve` subprocess on 127.0.0.1, a free port),
sends a few untimed requests (the first calls trace the model's compiled functions), then
`--requests` requests of one instance each from `--clients` concurrent clients (aiohttp), and
stops after `--time-limit` seconds whatever is left. Printed per setting: requests answered per
second, the median and 99th-percentile latency, the errors (any answer but 200, or no answer),
and the server's own count of model calls (fewer calls than requests: the batching). The
clients run on the same machine as the server and share its CPU.
"""

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time

import aiohttp

#: One instance per request, cycling through these, by the task of the model served.
INSTANCES = {
    "text_classification": ["A wonderful, moving film.", "Dull and far too long.",
                            "The actors shine in every scene.", "I fell asleep twice.",
                            "Not worth the ticket.", "Funny, warm and clever."],
    "forecasting": [[round(100 + 10 * ((t + k) % 12) + 0.5 * t, 2) for t in range(48)]
                    for k in range(6)],
    "series_classification": [[round(((t * (k + 3)) % 7) / 7, 3) for t in range(24)]
                              for k in range(6)],
    "tagging": ["The jury praised the city.", "Time flies like an arrow.",
                "She sold the old house in May."],
}


def start_server(model, max_batch, batch_wait_ms):
    """A `model-zoo serve` subprocess; returns `(process, url)` once it is ready."""
    process = subprocess.Popen(
        [sys.executable, "-m", "model_zoo.cli", "serve", model, "--port", "0", "--max-batch",
         str(max_batch), "--batch-wait-ms", str(batch_wait_ms), "--max-seconds", "1800"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"})
    for line in process.stdout:
        if line.startswith("ready: "):
            return process, line.split()[1]
    raise RuntimeError(f"the server exited before it was ready (code {process.wait()})")


def stop_server(process):
    """Stops the server (SIGTERM) and returns its model-call count line."""
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    found = re.search(r"stopped .*", out)
    return found.group(0) if found else "(no statistics)"


async def load(url, model, instances, clients, requests, time_limit, warmup=8):
    """`(seconds, latencies of the requests answered 200, errors)` of the load."""
    endpoint = f"{url}/v1/models/{model}:predict"
    latencies, errors, sent = [], 0, 0
    deadline = None

    async with aiohttp.ClientSession() as session:
        async def one(k):
            async with session.post(endpoint, json={"instances": [
                    instances[k % len(instances)]]}) as response:
                await response.read()
                return response.status

        for k in range(warmup):
            assert await one(k) == 200, "the warm-up request failed"

        async def client():
            nonlocal sent, errors
            while sent < requests and time.perf_counter() < deadline:
                k, sent = sent, sent + 1
                start = time.perf_counter()
                try:
                    status = await asyncio.wait_for(one(k), deadline - start)
                except (aiohttp.ClientError, TimeoutError):
                    status = None
                if status == 200:
                    latencies.append(time.perf_counter() - start)
                elif status is not None or time.perf_counter() < deadline:
                    errors += 1

        start = time.perf_counter()
        deadline = start + time_limit
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.perf_counter() - start, latencies, errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="sentiment_bigru_rotten_tomatoes",
                        help=f"checkpoint to serve, of one of the tasks {sorted(INSTANCES)}")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=1000, help="requests per setting")
    parser.add_argument("--time-limit", type=float, default=120.0,
                        help="seconds of load per setting, at most")
    parser.add_argument("--max-batch", type=int, default=64,
                        help="the batched setting's --max-batch")
    parser.add_argument("--batch-wait-ms", type=float, default=5.0,
                        help="the batched setting's --batch-wait-ms")
    args = parser.parse_args()

    import model_zoo

    instances = INSTANCES[model_zoo.info(args.model)["task"]]
    print(f"{args.model}: {args.requests} requests of one instance from {args.clients} "
          f"clients, at most {args.time_limit:g} s per setting")
    print(f"{'setting':<32}{'answered':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
          "  server")
    rates = {}
    for label, max_batch in ((f"batched (--max-batch {args.max_batch})", args.max_batch),
                             ("unbatched (--max-batch 1)", 1)):
        process, url = start_server(args.model, max_batch, args.batch_wait_ms)
        try:
            seconds, latencies, errors = asyncio.run(load(
                url, args.model, instances, args.clients, args.requests, args.time_limit))
        finally:
            calls = stop_server(process)
        rates[max_batch] = len(latencies) / seconds
        quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
        print(f"{label:<32}{len(latencies):>9}{rates[max_batch]:>9.1f}"
              f"{1000 * quantiles[49]:>9.1f}{1000 * quantiles[98]:>9.1f}{errors:>8}  {calls}")
    print(f"batched / unbatched requests per second: {rates[args.max_batch] / rates[1]:.2f}")


if __name__ == "__main__":
    main()

"""Measures `trustbench serve`: process start to first answered request, and idle RSS.

Usage: python3 ci/startup.py [path/to/trustbench]   (default target/release/trustbench)
Prints the median, min and max of 11 runs.
"""

import statistics
import subprocess
import sys
import time
import urllib.request

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/trustbench"
times, rss = [], []
for _ in range(11):
    start = time.perf_counter()
    proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    url = next(line.split()[1] for line in proc.stdout if line.startswith("endpoint: "))
    urllib.request.urlopen(url + "/_mock/health").read()
    times.append((time.perf_counter() - start) * 1000)
    with open(f"/proc/{proc.pid}/status") as status:
        rss.append(next(int(l.split()[1]) for l in status if l.startswith("VmRSS")))
    proc.terminate()
    proc.wait()
print(f"start to first answer: median {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f})")
print(f"idle RSS: median {statistics.median(rss) / 1024:.1f} MiB")

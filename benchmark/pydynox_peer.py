"""pydynox's SyncBatchWriter (the library whose doc page is dynabatch's spec) writing the benchmark's items.

Prints one JSON line like benchmark/peer.js. Usage: python3 benchmark/pydynox_peer.py <endpoint> <items>
"""
import json
import resource
import sys
import time

from pydynox import DynamoDBClient, SyncBatchWriter


def item(i):
    return {
        "pk": f"USER#{i}",
        "sk": "PROFILE",
        "name": f"User number {i}",
        "email": f"user{i}@example.com",
        "age": 20 + (i % 50),
        "active": i % 2 == 0,
        "tags": ["a", "b", "c"],
        "address": {"city": "Paris", "zip": "75001"},
        "score": i * 1.5,
    }


def main():
    endpoint, n = sys.argv[1], int(sys.argv[2])
    client = DynamoDBClient(region="us-east-1", access_key="bench", secret_key="bench", endpoint_url=endpoint)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    with SyncBatchWriter(client, "bench") as batch:
        for i in range(n):
            batch.put(item(i))
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    per100k = 100000 / n
    print(json.dumps({
        "items": n,
        "seconds": seconds,
        "itemsPerSecond": n / seconds,
        "cpuSecondsPer100k": cpu * per100k,
        "eventLoopMsPer100k": None,
        "peakRssMb": r1.ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()

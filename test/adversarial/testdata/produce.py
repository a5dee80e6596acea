"""Produce records to Kafka with confluent-kafka (librdkafka), for the
adversarial corpus (test/adversarial/kafka_test.go).

Reads one JSON object on stdin:

  {"bootstrap": "127.0.0.1:9092", "topic": "user_events",
   "records": [{"codec": "zstd", "key": <base64 or null>,
                "value": <base64 or null>, "headers": [[name, <base64>], ...],
                "partition": -1, "timestamp_ms": 0,
                "txn": "" | "commit" | "abort", "txn_group": "t1"}]}

Records outside transactions share one producer per codec; consecutive
records with the same "txn" and "txn_group" are produced in one
transaction, committed or aborted before the next records are sent. Writes one JSON array on stdout: for
each record, {"partition": p, "offset": o} or {"error": "..."}. Exits 1 if
a record was not delivered.
"""

import base64
import json
import sys

import confluent_kafka


def b64(v):
    return None if v is None else base64.b64decode(v)


def main():
    req = json.load(sys.stdin)
    records = req["records"]
    reports = [None] * len(records)

    def producer(codec, txn_id=None):
        conf = {
            "bootstrap.servers": req["bootstrap"],
            "compression.type": codec,
            "message.max.bytes": 2000000,
            "linger.ms": 5,
        }
        if txn_id:
            conf["transactional.id"] = txn_id
        return confluent_kafka.Producer(conf)

    def produce(p, i):
        r = records[i]

        def report(err, msg):
            if err is not None:
                reports[i] = {"error": str(err)}
            else:
                reports[i] = {"partition": msg.partition(), "offset": msg.offset()}

        kw = {}
        if r.get("partition", -1) >= 0:
            kw["partition"] = r["partition"]
        if r.get("timestamp_ms"):
            kw["timestamp"] = r["timestamp_ms"]
        headers = [(h[0], b64(h[1])) for h in r.get("headers") or []]
        p.produce(req["topic"], value=b64(r.get("value")), key=b64(r.get("key")),
                  headers=headers or None, on_delivery=report, **kw)
        p.poll(0)

    # Records outside transactions share one producer per codec, flushed
    # at the end (a producer's first flush can wait a second for
    # metadata); a transaction gets its own producer and ends before the
    # records that follow it are sent.
    plain = {}
    i = 0
    while i < len(records):
        r = records[i]
        txn = r.get("txn", "")
        if not txn:
            codec = r.get("codec", "none")
            if codec not in plain:
                plain[codec] = producer(codec)
            produce(plain[codec], i)
            i += 1
            continue
        group = r.get("txn_group", "")
        j = i
        while j < len(records) and records[j].get("txn", "") == txn and records[j].get("txn_group", "") == group:
            j += 1
        p = producer(r.get("codec", "none"), "adversarial-%s-%d" % (group, i))
        p.init_transactions(30)
        p.begin_transaction()
        for k in range(i, j):
            produce(p, k)
        if p.flush(30) != 0:
            print("transaction records left unflushed", file=sys.stderr)
        if txn == "commit":
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)
        i = j
    for p in plain.values():
        if p.flush(30) != 0:
            print("records left unflushed", file=sys.stderr)
    json.dump(reports, sys.stdout)
    sys.stdout.write("\n")
    return 0 if all(r is not None and "error" not in r for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())

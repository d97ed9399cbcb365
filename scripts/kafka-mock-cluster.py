"""librdkafka's mock cluster: a Kafka wire-protocol broker on 127.0.0.1 for tests.

Prints the bootstrap address ("host:port") on stdout, then lives until stdin closes or it is
killed. Needs python3-confluent-kafka (Debian); call it with /usr/bin/python3.
"""
import sys

from confluent_kafka import Producer

producer = Producer({'test.mock.num.brokers': 1, 'bootstrap.servers': '', 'log_level': 3})
brokers = producer.list_topics(timeout=10).brokers
broker = next(iter(brokers.values()))
print(f"{broker.host}:{broker.port}", flush=True)
sys.stdin.read()

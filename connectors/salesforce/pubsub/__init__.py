"""Salesforce Pub/Sub API (gRPC + Avro): Change Data Capture and Platform Events.

pubsub_api.proto is the wire contract (package eventbus.v1). Its Python stubs, pubsub_api_pb2.py and
pubsub_api_pb2_grpc.py, are generated beside it by scripts/setup.sh with the pinned grpcio-tools, so
they always match the installed protobuf runtime; they are never committed.
"""

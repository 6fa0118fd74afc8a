"""The Salesforce sandbox's Pub/Sub API: a gRPC server (package eventbus.v1) serving Change Data
Capture and Platform Events in Avro, with replay, flow control, retention and injectable faults.

`topics` holds the schemas, `log` the per-topic event log, `capture` turns every committed
record write into a change event, `servicer` speaks the gRPC API, `service` ties them to the
sandbox app and `control` is its `/_control/pubsub` API.
"""

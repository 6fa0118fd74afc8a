"""Salesforce's error shape on the Pub/Sub API: a gRPC status whose message ends in
`rpcId: <id>`, plus an `error-code` trailer where Salesforce sends one (clients key on it)."""

from typing import NoReturn

import grpc

REPLAY_ID_CORRUPTED = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
SERVICE_UNAVAILABLE = "sfdc.platform.eventbus.grpc.service.unavailable"


def fail(
    context: grpc.ServicerContext,
    code: grpc.StatusCode,
    message: str,
    rpc_id: str,
    error_code: str = "",
) -> NoReturn:
    """End the call; `context.abort` raises, so nothing after a `fail` runs."""
    if error_code:
        context.set_trailing_metadata((("error-code", error_code),))
    context.abort(code, f"{message} rpcId: {rpc_id}")
    raise AssertionError("unreachable: context.abort raises")

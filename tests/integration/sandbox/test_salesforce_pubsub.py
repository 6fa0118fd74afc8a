"""The Salesforce sandbox's Pub/Sub API seen from a raw gRPC client (pubsub_client.py): auth,
CDC payloads decoded with fastavro and the served schema, transactions, replay, retention, flow
control, keepalives, platform events and every fault."""

import time
from collections.abc import Iterator

import grpc
import pytest

from connectors.salesforce.pubsub import pubsub_api_pb2 as pb
from sandbox.core.server import RunningSandbox
from sandbox.salesforce.schema import ORG_ID
from tests.integration.sandbox.pubsub_client import OPPORTUNITIES, PubSub
from tests.integration.sandbox.salesforce_client import connect, control, https_session

ACCOUNTS = "/data/AccountChangeEvent"
ORDER_REQUESTS = "/event/Sage_Order_Request__e"
CORRUPTED = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
OUR_ORIGIN = "com/salesforce/api/rest/59.0;client=clarity-connect"


@pytest.fixture
def pubsub(salesforce_sandbox) -> Iterator[PubSub]:
    control(salesforce_sandbox, "pubsub", {"keepalive_seconds": 0.2})
    client = PubSub(salesforce_sandbox)
    yield client
    client.close()


def our_session(sandbox: RunningSandbox):
    """simple-salesforce calling itself clarity-connect, as the connector does."""
    sf = connect(sandbox)
    sf.session.headers["Sforce-Call-Options"] = "client=clarity-connect"
    return sf


def open_opportunity(sf) -> dict:
    return sf.query("SELECT Id, Name, Probability FROM Opportunity WHERE IsClosed = false "
                    "ORDER BY Name LIMIT 1")["records"][0]  # fmt: skip


def replay_number(event: pb.ConsumerEvent) -> int:
    assert len(event.replay_id) == 8
    return int.from_bytes(event.replay_id, "big")


# ---------------------------------------------------------------- auth and topics


def test_calls_without_a_token_or_with_a_wrong_one_are_unauthenticated(salesforce_sandbox):
    client = PubSub(salesforce_sandbox)
    request = pb.TopicRequest(topic_name=OPPORTUNITIES)
    wrong = [
        (),
        (("accesstoken", "00D!not-a-token"), ("instanceurl", salesforce_sandbox.url),
         ("tenantid", ORG_ID)),
        (("accesstoken", client.token), ("instanceurl", salesforce_sandbox.url),
         ("tenantid", "00D000000000001AAA")),
    ]  # fmt: skip
    for metadata in wrong:
        with pytest.raises(grpc.RpcError) as refused:
            client.stub.GetTopic(request, metadata=metadata, timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "rpcId:" in refused.value.details()
    stranger = PubSub(salesforce_sandbox, token="00D!not-a-token")
    assert stranger.subscribe().wait_end().code() == grpc.StatusCode.UNAUTHENTICATED
    stranger.close()
    topic = client.stub.GetTopic(request, metadata=client.metadata, timeout=5)
    assert topic.topic_name == OPPORTUNITIES and topic.tenant_guid == ORG_ID
    assert topic.can_subscribe and not topic.can_publish and len(topic.schema_id) == 22
    event_topic = client.stub.GetTopic(pb.TopicRequest(topic_name=ORDER_REQUESTS),
                                       metadata=client.metadata, timeout=5)  # fmt: skip
    assert event_topic.can_publish
    with pytest.raises(grpc.RpcError) as missing:
        client.stub.GetTopic(pb.TopicRequest(topic_name="/data/NopeChangeEvent"),
                             metadata=client.metadata, timeout=5)  # fmt: skip
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    client.close()


# ---------------------------------------------------------------- change events


def test_rest_update_of_stage_arrives_as_update_with_changed_fields_bitmap(salesforce_sandbox,
                                                                           pubsub):  # fmt: skip
    stream = pubsub.subscribe()
    stream.ready()
    sf = our_session(salesforce_sandbox)
    deal = open_opportunity(sf)
    sf.Opportunity.update(deal["Id"], {"StageName": "Closed Won"})
    [event] = stream.events(1)
    payload = pubsub.decode(event)
    header = payload["ChangeEventHeader"]
    assert header["changeType"] == "UPDATE" and header["entityName"] == "Opportunity"
    assert header["recordIds"] == [deal["Id"]] and header["changeOrigin"] == OUR_ORIGIN
    assert header["sequenceNumber"] == 1 and header["commitTimestamp"] > 0
    assert header["commitUser"].startswith("005") and header["nulledFields"] == []
    assert pubsub.changed(event) == {"StageName", "Probability", "IsClosed", "IsWon",
                                     "LastModifiedDate"}  # fmt: skip
    assert payload["StageName"] == "Closed Won" and payload["IsWon"] is True
    assert payload["Probability"] == 100.0 and payload["LastModifiedDate"] > 0
    assert payload["Name"] is None and payload["AccountId"] is None  # unchanged: null
    stream.close()


def test_create_nulling_and_delete_have_salesforce_shapes(salesforce_sandbox, pubsub):
    stream = pubsub.subscribe()
    stream.ready()
    sf = connect(salesforce_sandbox)
    account_id = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    created = sf.Opportunity.create({"Name": "Pub/Sub deal", "StageName": "Prospecting",
                                     "CloseDate": "2031-01-15", "AccountId": account_id,
                                     "Description": "first"})  # fmt: skip
    sf.Opportunity.update(created["id"], {"Description": None})
    sf.Opportunity.delete(created["id"])
    create, nulled, delete = stream.events(3)
    new = pubsub.decode(create)
    assert new["ChangeEventHeader"]["changeType"] == "CREATE"
    assert new["ChangeEventHeader"]["changedFields"] == []
    assert new["Name"] == "Pub/Sub deal" and new["AccountId"] == account_id
    assert new["CloseDate"].isoformat() == "2031-01-15" and new["Probability"] == 10.0
    assert new["ChangeEventHeader"]["changeOrigin"] == "com/salesforce/api/rest/59.0"
    assert pubsub.changed(nulled) == {"Description", "LastModifiedDate"}
    assert pubsub.changed(nulled, "nulledFields") == {"Description"}
    gone = pubsub.decode(delete)
    assert gone["ChangeEventHeader"]["changeType"] == "DELETE"
    assert gone["ChangeEventHeader"]["recordIds"] == [created["id"]] and gone["Name"] is None
    assert replay_number(create) < replay_number(nulled) < replay_number(delete)
    stream.close()


def test_address_change_uses_the_nested_bitmap_form(salesforce_sandbox, pubsub):
    stream = pubsub.subscribe(ACCOUNTS)
    stream.ready()
    sf = connect(salesforce_sandbox)
    account_id = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    sf.Account.update(account_id, {"BillingCity": "Fresno", "BillingPostalCode": None})
    [event] = stream.events(1)
    header = pubsub.decode(event)["ChangeEventHeader"]
    fields = [f["name"] for f in pubsub.schema(event.event.schema_id)["fields"]]
    position = fields.index("BillingAddress")
    assert f"{position}-0x0A" in header["changedFields"]  # City (bit 1), PostalCode (bit 3)
    assert pubsub.changed(event) == {"BillingAddress.City", "BillingAddress.PostalCode",
                                     "LastModifiedDate"}  # fmt: skip
    assert pubsub.changed(event, "nulledFields") == {"BillingAddress.PostalCode"}
    address = pubsub.decode(event)["BillingAddress"]
    assert address["City"] == "Fresno" and address["Street"] is None
    stream.close()


def test_one_composite_request_is_one_transaction_and_rollbacks_emit_nothing(
    salesforce_sandbox, pubsub
):
    stream = pubsub.subscribe()
    stream.ready()
    sf = our_session(salesforce_sandbox)
    deals = sf.query("SELECT Id FROM Opportunity WHERE IsClosed = false LIMIT 3")["records"]
    url = "/services/data/v59.0/sobjects/Opportunity/"
    composite = https_session(salesforce_sandbox)
    composite.headers.update({"Authorization": f"Bearer {pubsub.token}",
                              "Sforce-Call-Options": "client=clarity-connect"})  # fmt: skip
    reply = composite.post(f"{salesforce_sandbox.url}/services/data/v59.0/composite", json={
        "allOrNone": True, "compositeRequest": [
            {"method": "PATCH", "url": url + deals[0]["Id"], "referenceId": "a",
             "body": {"Description": "composite one"}},
            {"method": "PATCH", "url": url + deals[1]["Id"], "referenceId": "b",
             "body": {"Description": "composite two"}},
        ]}, timeout=10)  # fmt: skip
    assert reply.status_code == 200, reply.text
    rolled_back = composite.post(f"{salesforce_sandbox.url}/services/data/v59.0/composite", json={
        "allOrNone": True, "compositeRequest": [
            {"method": "PATCH", "url": url + deals[2]["Id"], "referenceId": "c",
             "body": {"Description": "never committed"}},
            {"method": "PATCH", "url": url + deals[2]["Id"], "referenceId": "d",
             "body": {"StageName": "No Such Stage"}},
        ]}, timeout=10)  # fmt: skip
    assert rolled_back.json()["compositeResponse"][1]["httpStatusCode"] == 400
    sf.Opportunity.update(deals[2]["Id"], {"Description": "on its own"})
    first, second, alone = (pubsub.decode(e) for e in stream.events(3))
    key = first["ChangeEventHeader"]["transactionKey"]
    assert second["ChangeEventHeader"]["transactionKey"] == key
    assert [first["ChangeEventHeader"]["sequenceNumber"],
            second["ChangeEventHeader"]["sequenceNumber"]] == [1, 2]  # fmt: skip
    assert [first["Description"], second["Description"]] == ["composite one", "composite two"]
    assert alone["Description"] == "on its own"  # nothing of the rolled-back request came
    assert alone["ChangeEventHeader"]["transactionKey"] != key
    assert all(e["ChangeEventHeader"]["changeOrigin"] == OUR_ORIGIN
               for e in (first, second, alone))  # fmt: skip
    stream.close()


def test_mark_closed_won_page_emits_cdc_while_outbound_messages_are_off(salesforce_sandbox,
                                                                          pubsub):  # fmt: skip
    assert control(salesforce_sandbox, "outbound-messages", {"enabled": False}) == {
        "enabled": False}  # fmt: skip
    stream = pubsub.subscribe()
    stream.ready()
    deal = open_opportunity(connect(salesforce_sandbox))
    page = https_session(salesforce_sandbox).post(
        f"{salesforce_sandbox.url}/opportunities/{deal['Id']}/close-won", timeout=10,
        allow_redirects=False,
    )  # fmt: skip
    assert page.status_code == 303
    payload = pubsub.decode(stream.events(1)[0])
    assert payload["StageName"] == "Closed Won"
    assert payload["ChangeEventHeader"]["changeOrigin"] == "com/salesforce/api/rest/59.0"
    assert salesforce_sandbox.app.outbound.messages() == []
    stream.close()


# ---------------------------------------------------------------- replay and retention


def touch(sandbox: RunningSandbox, count: int, text: str = "touch") -> list[str]:
    """`count` committed Opportunity updates, one request each."""
    sf = connect(sandbox)
    deals = sf.query(f"SELECT Id FROM Opportunity ORDER BY Name LIMIT {count}")["records"]
    for number, deal in enumerate(deals):
        sf.Opportunity.update(deal["Id"], {"Description": f"{text} {number}"})
    return [deal["Id"] for deal in deals]


def test_custom_replay_resumes_after_the_id_and_earliest_starts_at_the_oldest(
    salesforce_sandbox, pubsub
):
    touched = touch(salesforce_sandbox, 3)
    earliest = pubsub.subscribe(replay_preset=pb.EARLIEST)
    events = earliest.events(3)
    earliest.close()
    assert [pubsub.decode(e)["ChangeEventHeader"]["recordIds"][0] for e in events] == touched
    resumed = pubsub.subscribe(replay_preset=pb.CUSTOM, replay_id=events[0].replay_id)
    again = resumed.events(2)
    assert [e.replay_id for e in again] == [e.replay_id for e in events[1:]]
    assert resumed.next().events == []  # nothing more: a keepalive
    resumed.close()


def test_expired_or_unknown_replay_id_is_refused_with_the_corrupted_trailer(
    salesforce_sandbox, pubsub
):
    touch(salesforce_sandbox, 1)
    stream = pubsub.subscribe(replay_preset=pb.EARLIEST)
    [event] = stream.events(1)
    stream.close()
    unknown = (replay_number(event) + 1000).to_bytes(8, "big")
    for replay_id in (unknown, b"\x01\x02"):
        refused = pubsub.subscribe(replay_preset=pb.CUSTOM, replay_id=replay_id).wait_end()
        assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    valid = pubsub.subscribe(replay_preset=pb.CUSTOM, replay_id=event.replay_id)
    valid.ready()  # resumable while retained
    valid.close()
    control(salesforce_sandbox, "pubsub", {"advance_hours": 73})
    error = pubsub.subscribe(replay_preset=pb.CUSTOM, replay_id=event.replay_id).wait_end()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "rpcId:" in error.details()
    assert ("error-code", CORRUPTED) in [(m.key, m.value) for m in error.trailing_metadata()]
    retained = pubsub.subscribe(replay_preset=pb.EARLIEST)
    assert retained.next().events == []  # past 72 h: EARLIEST has nothing to replay
    retained.close()


# ---------------------------------------------------------------- flow control and timers


def test_flow_control_never_sends_more_than_requested(salesforce_sandbox, pubsub):
    touch(salesforce_sandbox, 5)
    stream = pubsub.subscribe(replay_preset=pb.EARLIEST, num_requested=2)
    first = stream.next()
    assert len(first.events) == 2 and first.pending_num_requested == 0
    assert stream.next().events == []  # owed nothing: keepalives only, however long
    assert stream.next().events == []
    stream.ask(1)
    second = stream.next()
    assert len(second.events) == 1 and second.pending_num_requested == 0
    stream.ask(250)  # counts as 100
    rest = stream.next()
    assert len(rest.events) == 2 and rest.pending_num_requested == 98
    stream.close()


def test_keepalive_carries_latest_replay_id_and_idle_streams_close(salesforce_sandbox, pubsub):
    stream = pubsub.subscribe(num_requested=1)
    stream.ready()
    touch(salesforce_sandbox, 1)
    [event] = stream.events(1)
    keepalive = stream.next()
    assert keepalive.events == [] and keepalive.latest_replay_id == event.replay_id
    assert keepalive.pending_num_requested == 0 and keepalive.rpc_id
    stream.close()
    control(salesforce_sandbox, "pubsub", {"idle_close_seconds": 0.5})
    idle = pubsub.subscribe(num_requested=0)
    assert idle.wait_end(timeout=3) is None  # closed by the server, not an error


def test_a_later_request_for_another_topic_is_refused(salesforce_sandbox, pubsub):
    stream = pubsub.subscribe()
    stream.ready()
    stream.ask(5, topic=ACCOUNTS)
    assert stream.wait_end().code() == grpc.StatusCode.INVALID_ARGUMENT


# ---------------------------------------------------------------- platform events


def test_platform_events_from_the_org_and_from_publish(salesforce_sandbox, pubsub):
    stream = pubsub.subscribe(ORDER_REQUESTS)
    stream.ready()
    control(salesforce_sandbox, "pubsub/publish", {"topic": ORDER_REQUESTS, "payload": {
        "Record_Id__c": "006Dn000000000001AAA", "Action__c": "create_order"}})  # fmt: skip
    [event] = stream.events(1)
    payload = pubsub.decode(event)
    assert payload["Record_Id__c"] == "006Dn000000000001AAA"
    assert payload["Action__c"] == "create_order" and payload["CreatedDate"] > 0
    topic = pubsub.stub.GetTopic(pb.TopicRequest(topic_name=ORDER_REQUESTS),
                                 metadata=pubsub.metadata, timeout=5)  # fmt: skip
    published = pubsub.stub.Publish(pb.PublishRequest(topic_name=ORDER_REQUESTS, events=[
        pb.ProducerEvent(id="ours-1", schema_id=topic.schema_id, payload=event.event.payload)
    ]), metadata=pubsub.metadata, timeout=5)  # fmt: skip
    [result] = published.results
    assert result.correlation_key == "ours-1" and len(result.replay_id) == 8
    [echo] = stream.events(1)
    assert echo.event.id == "ours-1" and echo.replay_id == result.replay_id
    with pytest.raises(grpc.RpcError) as refused:
        pubsub.stub.Publish(pb.PublishRequest(topic_name=OPPORTUNITIES),
                            metadata=pubsub.metadata, timeout=5)  # fmt: skip
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    stream.close()


# ---------------------------------------------------------------- faults


def fault(sandbox: RunningSandbox, name: str) -> None:
    assert control(sandbox, "pubsub", {"fault": name})["fault"] == name


def fault_taken(sandbox: RunningSandbox) -> None:
    """Wait until a stream has taken the pending fault."""
    deadline = time.monotonic() + 5
    while https_session(sandbox).get(f"{sandbox.url}/_control/pubsub", timeout=5).json()["fault"]:
        assert time.monotonic() < deadline, "no stream took the fault"
        time.sleep(0.05)


def test_unavailable_fault_refuses_one_stream_with_the_service_trailer(salesforce_sandbox,
                                                                         pubsub):  # fmt: skip
    fault(salesforce_sandbox, "unavailable")
    error = pubsub.subscribe().wait_end()
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    trailers = [(m.key, m.value) for m in error.trailing_metadata()]
    assert ("error-code", "sfdc.platform.eventbus.grpc.service.unavailable") in trailers
    retry = pubsub.subscribe()
    retry.ready()  # applied once: the retry is served
    retry.close()


def test_reset_fault_cuts_the_current_stream(salesforce_sandbox, pubsub):
    stream = pubsub.subscribe()
    stream.ready()
    fault(salesforce_sandbox, "reset")
    assert stream.wait_end().code() == grpc.StatusCode.CANCELLED


def test_redeliver_fault_sends_the_last_batch_again_after_reconnect(salesforce_sandbox, pubsub):
    stream = pubsub.subscribe()
    stream.ready()
    fault(salesforce_sandbox, "redeliver")
    fault_taken(salesforce_sandbox)
    touch(salesforce_sandbox, 1)
    [delivered] = stream.events(1)
    assert stream.wait_end() is not None  # cut right after the batch
    resumed = pubsub.subscribe(replay_preset=pb.CUSTOM, replay_id=delivered.replay_id)
    [duplicate] = resumed.events(1)
    assert duplicate.replay_id == delivered.replay_id
    assert duplicate.event.payload == delivered.event.payload
    touch(salesforce_sandbox, 1, "fresh")
    [fresh] = resumed.events(1)
    assert replay_number(fresh) > replay_number(delivered)
    resumed.close()


def test_gap_and_overflow_faults_send_header_only_events(salesforce_sandbox, pubsub):
    stream = pubsub.subscribe()
    stream.ready()
    fault(salesforce_sandbox, "gap")
    gap = pubsub.decode(stream.events(1)[0])
    assert gap["ChangeEventHeader"]["changeType"] == "GAP_UPDATE"
    [record_id] = gap["ChangeEventHeader"]["recordIds"]
    assert record_id.startswith("006")
    assert all(v is None for k, v in gap.items() if k != "ChangeEventHeader")
    fault(salesforce_sandbox, "overflow")
    overflow = pubsub.decode(stream.events(1)[0])["ChangeEventHeader"]
    assert overflow["changeType"] == "GAP_OVERFLOW" and overflow["recordIds"] == []
    assert overflow["entityName"] == "Opportunity" and overflow["commitTimestamp"] > 0
    stream.close()


def test_schema_change_fault_bumps_the_schema_id_mid_stream(salesforce_sandbox, pubsub):
    stream = pubsub.subscribe()
    stream.ready()
    touch(salesforce_sandbox, 1)
    [before] = stream.events(1)
    fault(salesforce_sandbox, "schema_change")
    fault_taken(salesforce_sandbox)
    touch(salesforce_sandbox, 1, "after the bump")
    [after] = stream.events(1)
    assert after.event.schema_id != before.event.schema_id
    old_names = [f["name"] for f in pubsub.schema(before.event.schema_id)["fields"]]
    new_names = [f["name"] for f in pubsub.schema(after.event.schema_id)["fields"]]
    assert new_names[: len(old_names)] == old_names and len(new_names) == len(old_names) + 1
    assert pubsub.decode(after)["Description"] == "after the bump 0"
    assert pubsub.changed(after) == {"Description", "LastModifiedDate"}
    stream.close()


def test_expire_token_fault_ends_the_stream_until_a_new_token_is_used(salesforce_sandbox,
                                                                        pubsub):  # fmt: skip
    stream = pubsub.subscribe()
    stream.ready()
    fault(salesforce_sandbox, "expire_token")
    assert stream.wait_end().code() == grpc.StatusCode.UNAUTHENTICATED
    assert pubsub.subscribe().wait_end().code() == grpc.StatusCode.UNAUTHENTICATED
    renewed = PubSub(salesforce_sandbox)
    fresh = renewed.subscribe()
    fresh.ready()
    fresh.close()
    renewed.close()

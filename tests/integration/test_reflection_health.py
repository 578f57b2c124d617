"""What grpcurl does: list services, describe messages and call methods through server reflection,
with no .proto at hand; and the standard health check."""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.support.daemon import ApiServerProcess


async def _reflect(channel: grpc.aio.Channel, request: reflection_pb2.ServerReflectionRequest):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    call = stub.ServerReflectionInfo(iter([request]))
    async for response in call:
        return response
    raise AssertionError("no reflection response")


async def _pool_with(channel: grpc.aio.Channel, symbol: str) -> descriptor_pool.DescriptorPool:
    """A descriptor pool filled from reflection alone, dependencies first, as grpcurl builds its own."""
    pool = descriptor_pool.DescriptorPool()
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    response = await _reflect(channel, reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol))
    pending = list(response.file_descriptor_response.file_descriptor_proto)
    while pending:
        proto = descriptor_pb2.FileDescriptorProto.FromString(pending.pop())
        files[proto.name] = proto
        for dependency in proto.dependency:
            if dependency not in files:
                more = await _reflect(channel, reflection_pb2.ServerReflectionRequest(file_by_filename=dependency))
                pending.extend(more.file_descriptor_response.file_descriptor_proto)
    added: set[str] = set()

    def add(name: str) -> None:
        if name in added:
            return
        for dependency in files[name].dependency:
            add(dependency)
        pool.Add(files[name])
        added.add(name)

    for name in files:
        add(name)
    return pool


async def test_reflection_lists_the_api_and_describes_its_messages(apiserver: ApiServerProcess) -> None:
    async with grpc.aio.insecure_channel(apiserver.address) as channel:
        listing = await _reflect(channel, reflection_pb2.ServerReflectionRequest(list_services=""))
        services = {s.name for s in listing.list_services_response.service}
        assert {"kubelab.api.v1.Api", "grpc.health.v1.Health",
                "grpc.reflection.v1alpha.ServerReflection"} <= services

        pool = await _pool_with(channel, "kubelab.api.v1.Api")
        api = pool.FindServiceByName("kubelab.api.v1.Api")
        assert {"Create", "Get", "List", "Update", "UpdateStatus", "Patch", "Delete", "Watch"} <= {
            m.name for m in api.methods}
        assert api.methods_by_name["Watch"].output_type.full_name == "kubelab.api.v1.WatchEvent"
        status = pool.FindMessageTypeByName("kubelab.api.v1.PodStatus")
        assert {"podIP", "hostIP", "containerStatuses", "phase"} <= {f.json_name for f in status.fields}
        probe = pool.FindMessageTypeByName("kubelab.api.v1.Probe")
        assert "initialDelaySeconds" in {f.json_name for f in probe.fields}


async def test_a_call_built_from_reflection_alone_lists_namespaces(apiserver: ApiServerProcess) -> None:
    async with grpc.aio.insecure_channel(apiserver.address) as channel:
        pool = await _pool_with(channel, "kubelab.api.v1.Api")
        method = pool.FindServiceByName("kubelab.api.v1.Api").methods_by_name["List"]
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        request = json_format.Parse('{"kind": "Namespace"}', request_class())
        call = channel.unary_unary("/kubelab.api.v1.Api/List", request_serializer=request_class.SerializeToString,
                                   response_deserializer=response_class.FromString)
        reply = json_format.MessageToDict(await call(request))
        names = {item["namespace"]["metadata"]["name"] for item in reply["items"]}
        assert {"default", "kube-system"} <= names


async def test_health_check_answers_serving(apiserver: ApiServerProcess) -> None:
    async with grpc.aio.insecure_channel(apiserver.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "kubelab.api.v1.Api"):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

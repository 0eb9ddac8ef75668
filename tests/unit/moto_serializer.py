"""A faster response serializer for in-process moto, used by every unit test through ``moto_aws()``.

Why: moto 5.2 serializes responses with a generic, model-driven serializer that looks up each of the 10
members of every DynamoDB ``AttributeValue`` through a chain of alias providers, whether the member is there
or not. Items dominate DynamoDB responses: a consistent Scan of 2,000 seeded items took 3.85 s with moto's
serializer and 0.74 s with this one (one measurement here, same process), and a profile of the 20,000-item
backfill test showed ~90 % of its time in moto's serializer.

What changes: only how the members of an ``AttributeValue`` are found. moto hands the serializer an
attribute value as a plain dict (``{"S": "x"}``, ``{"M": {...}}``), and for a dict every alias provider
resolves to the member's own name, so ``dict.get`` finds the same value. Each present member is then
serialized by moto's own code (blobs, booleans, lists, maps), so the bytes on the wire stay moto's.
tests/unit/test_moto_serializer.py checks that, response by response, against moto's serializer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.core import serialize

# The services whose responses carry AttributeValues, with their protocol.
SERVICES = {"dynamodb": "json", "dynamodbstreams": "json"}


class AttributeValueSerializer(serialize.JSONSerializer):
    """moto's JSON serializer, with ``AttributeValue`` members read from the dict moto passes."""

    def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name != "AttributeValue" or not isinstance(value, dict):
            super()._serialize_type_structure(serialized, value, shape, key)
            return
        wrapper: Any = self.MAP_TYPE() if key else serialized
        for member_key, member_shape in shape.members.items():
            member_value = value.get(member_key)
            if member_value is not None:
                member_shape.parent = shape  # as moto's structure path sets it
                self._serialize(wrapper, member_value, member_shape, member_key)
        if key:
            self._default_serialize(serialized, wrapper, shape, key)


@contextmanager
def fast_attribute_values() -> Iterator[None]:
    """Serialize DynamoDB and DynamoDB Streams responses with ``AttributeValueSerializer`` meanwhile."""
    override = {service: {protocol: AttributeValueSerializer} for service, protocol in SERVICES.items()}
    with mock.patch.dict(serialize.SERVICE_SPECIFIC_SERIALIZERS, override):
        yield

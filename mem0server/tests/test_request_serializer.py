"""RequestSerializer copies its declared fields shallowly: each instance still binds field objects of its own."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from memories.serializers import SearchRequestSerializer
from platform_api.serializers import PlatformSearchRequestSerializer


def test_each_instance_binds_fields_of_its_own_and_the_declared_ones_stay_unbound():
    first, second = SearchRequestSerializer(data={}), SearchRequestSerializer(data={})
    for name, declared in SearchRequestSerializer._declared_fields.items():
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert first.fields[name].field_name == name
        assert declared.parent is None and declared.field_name is None


def test_a_field_holding_fields_is_still_copied_deeply():
    serializer = PlatformSearchRequestSerializer(data={})
    declared = PlatformSearchRequestSerializer._declared_fields["fields"]
    assert serializer.fields["fields"].child is not declared.child
    assert serializer.fields["fields"].child.parent is serializer.fields["fields"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"query": 5, "user_id": "alice"}, "query"),
        ({"query": "tea", "user_id": "al ice"}, "user_id"),
        ({"query": "tea", "user_id": "alice", "top_k": -1}, "top_k"),
        ({"query": "tea", "user_id": "alice", "threshold": 2}, "threshold"),
    ],
)
def test_errors_still_name_the_field_after_other_instances_validated(data, field):
    assert SearchRequestSerializer(data={"query": "tea", "user_id": "bob", "top_k": 3}).is_valid()
    serializer = SearchRequestSerializer(data=data)
    with pytest.raises(serializers.ValidationError):
        serializer.is_valid(raise_exception=True)
    assert list(serializer.errors) == [field]

"""klctl apply's three-way patch: manifest changes win, dropped fields go, others' fields stay."""

from controlplane.klctl.applying import three_way_patch


def test_first_apply_over_an_object_made_otherwise_sends_only_differences() -> None:
    live = {"spec": {"replicas": 3, "clusterIP": "10.96.0.5"}, "status": {"x": 1}}
    desired = {"spec": {"replicas": 5}}
    assert three_way_patch(None, desired, live) == {"spec": {"replicas": 5}}


def test_field_dropped_from_the_manifest_is_deleted() -> None:
    last = {"metadata": {"labels": {"app": "web", "tier": "front"}}}
    desired = {"metadata": {"labels": {"app": "web"}}}
    live = {"metadata": {"labels": {"app": "web", "tier": "front", "owner": "ops"}}}
    assert three_way_patch(last, desired, live) == {"metadata": {"labels": {"tier": None}}}


def test_manifest_value_wins_over_a_live_change() -> None:
    last = {"spec": {"replicas": 3}}
    live = {"spec": {"replicas": 5}}
    assert three_way_patch(last, {"spec": {"replicas": 3}}, live) == {"spec": {"replicas": 3}}


def test_nothing_to_send_when_live_already_matches() -> None:
    last = {"spec": {"replicas": 3}}
    assert three_way_patch(last, {"spec": {"replicas": 3}}, {"spec": {"replicas": 3}, "status": {}}) == {}

"""The version-delta rules of GetConfigList, case by case and as properties."""

from hypothesis import given
from hypothesis import strategies as st

from core.model import Config
from core.versions import ConfigUpdate, UpdateStatus, config_updates


def test_each_case() -> None:
    effective = [
        Config("new", content="n", version=3),
        Config("same", content="s", version=2),
        Config("newer", content="u", version=5),
        Config("restored", content="r", version=1),
    ]
    reported = {"same": 2, "newer": 4, "restored": 7, "gone": 9}
    assert config_updates(effective, reported) == (
        ConfigUpdate("gone", UpdateStatus.DELETED),
        ConfigUpdate("new", UpdateStatus.NEW, 3, "n"),
        ConfigUpdate("newer", UpdateStatus.MODIFIED, 5, "u"),
        ConfigUpdate("restored", UpdateStatus.MODIFIED, 1, "r"),
        ConfigUpdate("same", UpdateStatus.SAME),
    )


def test_nothing_effective_nothing_held() -> None:
    assert config_updates([], {}) == ()


def test_version_zero_is_reported_like_any_other() -> None:
    assert config_updates([Config("c", content="x")], {"c": 0}) == (ConfigUpdate("c", UpdateStatus.SAME),)


names = st.text(alphabet="abcdef", min_size=1, max_size=3)
versions = st.integers(min_value=0, max_value=5)


@given(effective=st.dictionaries(names, versions), reported=st.dictionaries(names, versions))
def test_properties(effective: dict[str, int], reported: dict[str, int]) -> None:
    configs = [
        Config(name, content=f"{name}@{version}", version=version) for name, version in effective.items()
    ]
    updates = config_updates(configs, reported)
    by_name = {update.name: update for update in updates}
    assert [update.name for update in updates] == sorted(set(effective) | set(reported))
    for name, update in by_name.items():
        if name not in effective:
            expected = UpdateStatus.DELETED
        elif name not in reported:
            expected = UpdateStatus.NEW
        elif reported[name] != effective[name]:
            expected = UpdateStatus.MODIFIED
        else:
            expected = UpdateStatus.SAME
        assert update.status == expected
        carries = expected in (UpdateStatus.NEW, UpdateStatus.MODIFIED)
        assert update.content == (f"{name}@{effective[name]}" if carries else "")
        assert update.version == (effective[name] if carries else 0)

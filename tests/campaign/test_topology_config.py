"""What `make topology` (campaign/topology.py) refuses and what its processes are given;
the topology itself is driven in test_topology.py on PostgreSQL + Redis."""

import pytest

from campaign.topology import Topology, TopologyError, drop_database, ensure_database

PG = "postgres://postgres@127.0.0.1:5432/turnout_topology_config"
REDIS = "redis://127.0.0.1:6379/6"


def topology(tmp_path, **overrides):
    options = {
        "database_url": PG,
        "redis_url": REDIS,
        "secret_key": "k" * 50,
        "run_dir": tmp_path,
        "environ": {"PATH": "/usr/bin", "DEBUG": "1", "SECRET_KEY": "from-the-shell"},
    }
    return Topology(**{**options, **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"database_url": "sqlite:////tmp/turnout.sqlite3"}, "runs on PostgreSQL"),
        ({"redis_url": ""}, "its queue on Redis"),
        ({"secret_key": ""}, "SECRET_KEY must be set"),
        ({"consumers": 0}, "at least 1"),
    ],
)
def test_the_topology_refuses_what_is_not_the_production_shape(tmp_path, overrides, message):
    with pytest.raises(TopologyError, match=message):
        topology(tmp_path, **overrides)


def test_its_processes_get_production_settings_whatever_the_shell_says(tmp_path):
    env = topology(tmp_path, settings={"MAILING_BATCH_SIZE": "250"}).env

    assert env["DEBUG"] == "0"
    assert env["SECRET_KEY"] == "k" * 50
    assert env["DJANGO_SETTINGS_MODULE"] == "campaign.settings"
    assert env["DATABASE_URL"] == PG and env["REDIS_URL"] == REDIS
    assert env["ANYMAIL_ESP"] == "mailgun" and env["MAILGUN_API_URL"].endswith("/v3")
    assert env["ANYMAIL_WEBHOOK_SECRET"].startswith("hooks:")
    assert env["ALLOWED_HOSTS"] == "127.0.0.1,localhost"
    assert env["MAILING_BATCH_SIZE"] == "250"
    assert env["TURNOUT_VAR_DIR"] == str(tmp_path / "var")


def test_only_a_topology_database_is_ever_dropped():
    with pytest.raises(TopologyError, match="Refusing to drop database 'turnout'"):
        drop_database("postgres://postgres@127.0.0.1:5432/turnout")
    with pytest.raises(TopologyError, match="Refusing to drop database 'turnout'"):
        ensure_database("postgres://postgres@127.0.0.1:5432/turnout", fresh=True)

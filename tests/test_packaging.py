"""The installed distribution: the promised packages at the top of site-packages and nothing generic beside
them, the migrations and type stubs inside, and the `configserver` command."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = {
    "configserver",
    "configserverd",
    "configserverctl",
    "console",
    "core",
    "facades",
    "pipeline",
    "http_gateway",
    "grpc_service",
}


def test_the_wheel_holds_the_packages_and_nothing_else(tmp_path: Path) -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True)
    source = tmp_path / "source"
    for name in tracked.stdout.splitlines():  # a copy of the checkout: the build writes beside its sources
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-w", tmp_path, source], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("configserver-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names if ".dist-info/" not in name}
    assert top == TOP_LEVEL
    assert {name.rsplit("/", 1)[1] for name in names if name.endswith(".sql")} >= {
        "0001.initial-schema.sql",
        "0002.change-feed.sql",
        "0003.store-revision.sql",
    }
    assert "configserver/proto/user_pb2.pyi" in names
    (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "configserver = configserverd.cli:main" in scripts
    assert "configserverctl = configserverctl.cli:main" in scripts
    console = {"index.html", "app.js", "app.css", "routes.js"}
    assert {f"console/static/{name}" for name in console} <= set(names)
    assert "configserverctl/routes.py" in names

"""Structural checks of deploy/ and the deployment docs.

Pure Python: no docker, systemd or supervisord needed. These files are what users copy to
production, so the tests pin what keeps them safe: paper by default, credentials only in a
git-ignored env file, API ports on loopback only, a gateway healthcheck that really runs
`horizon-ibkr doctor`, supervisors that restart and gate the start on the doctor, and docs
that use only flags the CLI has.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import logging
import re
import shlex
import signal
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
DOCKER = DEPLOY / "docker"
DOCS = [ROOT / "docs" / n for n in ("deploying.md", "real-gateway.md", "troubleshooting.md")]
DOC_FILES = [DEPLOY / "README.md", *DOCS]

SECRET_KEYS = {"TWS_USERID", "TWS_PASSWORD", "TWS_PASSWORD_PAPER", "VNC_SERVER_PASSWORD"}
# The CLI contract: the only flags docs and configs may use.
CLI_FLAGS = {
    "doctor": {"--host", "--port", "--paper", "--live", "--client-id", "--timeout", "--json",
               "--gateway-log"},
    "sim": {"--host", "--port", "--accounts", "--seed"},
    "demo": set(),
}
IBKR_OPTIONS = {"host", "port", "client_id", "paper", "client_id_range", "fill_journal",
                "health_check_interval"}  # fmt: skip
IBKR_METHODS = {"connect", "health_check", "drain_fills", "close"}
DOCTOR_CLIENT_ID = 99


# ---------------------------------------------------------------------------- helpers
def compose() -> dict[str, Any]:
    doc = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(doc, dict)
    return doc


def services() -> dict[str, dict[str, Any]]:
    svc = compose()["services"]
    assert isinstance(svc, dict)
    return svc


def env_file(path: Path) -> dict[str, str]:
    """KEY=value lines, as docker compose and systemd read them (no quoting used here)."""
    out: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=value: {line!r}"
            out[key] = value
    return out


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}` / `${VAR:-default}` substitution."""

    def sub(m: re.Match[str]) -> str:
        return env.get(m.group(1)) or (m.group(2) or "")

    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", sub, text)


def unit_file(path: Path) -> configparser.RawConfigParser:
    """systemd units are INI-like: `=` only, `#`/`;` comments, case-sensitive keys."""
    parser = configparser.RawConfigParser(
        strict=False, delimiters=("=",), comment_prefixes=("#", ";")
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def client_id_range(text: str) -> range:
    lo, _, hi = text.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def doctor_argv(argv: list[str]) -> list[str]:
    """The arguments after `horizon-ibkr doctor`, wherever the executable lives."""
    for i, arg in enumerate(argv):
        if Path(arg).name == "horizon-ibkr":
            assert argv[i + 1] == "doctor", argv
            return argv[i + 2 :]
    raise AssertionError(f"no horizon-ibkr doctor in {argv}")


def flag_value(args: list[str], flag: str) -> str:
    assert flag in args, f"{flag} missing from {args}"
    return args[args.index(flag) + 1]


def assert_doctor_gate(args: list[str]) -> None:
    flags = {a for a in args if a.startswith("--")}
    mode = {a for a in flags if a in ("--paper", "--live") or "MODE" in a}
    assert len(mode) == 1, f"doctor must be told the mode exactly once: {args}"
    assert {"--host", "--port", "--client-id", "--timeout"} <= flags
    assert flags - mode <= CLI_FLAGS["doctor"], f"unknown doctor flags: {flags - mode}"


# ---------------------------------------------------------------------------- compose
def test_compose_has_the_three_services() -> None:
    assert set(services()) == {"ib-gateway", "gateway-doctor", "app"}


def test_every_compose_service_restarts() -> None:
    for name, svc in services().items():
        assert svc.get("restart") in {"always", "unless-stopped"}, name


def test_gateway_image_is_the_community_image_pinned_to_a_version() -> None:
    image = services()["ib-gateway"]["image"]
    repo, _, tag = image.partition(":")
    assert repo == "ghcr.io/gnzsnz/ib-gateway"
    assert re.fullmatch(r"\d+\.\d+\.\d+[a-z]?", tag), f"pin a version, not {tag!r}"


def test_published_ports_bind_loopback_only() -> None:
    published = [p for svc in services().values() for p in svc.get("ports", [])]
    assert published, "the gateway API should be reachable from the host"
    for port in published:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), port
    # Host side: the standard gateway ports; container side: the image's socat relays.
    assert "127.0.0.1:4002:4004" in published
    assert "127.0.0.1:4001:4003" in published


def test_trading_mode_defaults_to_paper_everywhere() -> None:
    svc = services()
    assert svc["ib-gateway"]["environment"]["TRADING_MODE"] == "${TRADING_MODE:-paper}"
    assert svc["app"]["environment"]["HORIZON_IBKR_MODE"] == "${TRADING_MODE:-paper}"
    example = env_file(DOCKER / ".env.example")
    assert example["TRADING_MODE"] == "paper"
    # With no .env at all, every interpolation still lands on paper and the paper relay.
    app_env = {k: interpolate(str(v), {}) for k, v in svc["app"]["environment"].items()}
    assert app_env["HORIZON_IBKR_MODE"] == "paper"
    assert app_env["HORIZON_IBKR_PORT"] == "4004"
    assert interpolate("${HORIZON_IBKR_PORT:-4004}", example) == "4004"


def test_credentials_only_reach_the_gateway_through_the_env_file() -> None:
    svc = services()
    assert svc["ib-gateway"]["env_file"] in (".env", [".env"])
    for name, s in svc.items():
        env = s.get("environment", {})
        assert isinstance(env, dict), f"{name}: use a mapping for environment"
        assert not SECRET_KEYS & set(env), f"{name} names a secret in compose.yaml"
        if name != "ib-gateway":
            assert "env_file" not in s, f"{name} must not receive the gateway credentials"
    lines = (DOCKER / "compose.yaml").read_text().splitlines()
    code = "\n".join(line.split("#", 1)[0] for line in lines)  # comments may name them
    for key in SECRET_KEYS:
        assert key not in code, f"{key} appears in compose.yaml"


def test_env_file_is_git_ignored_and_the_example_holds_no_values() -> None:
    ignored = (DOCKER / ".gitignore").read_text().split()
    assert ".env" in ignored
    example = env_file(DOCKER / ".env.example")
    assert {"TWS_USERID", "TWS_PASSWORD"} <= set(example)
    for key in SECRET_KEYS & set(example):
        assert example[key] == "", f"{key} must be empty in .env.example"


def dockerignore() -> list[str]:
    text = (DOCKER / "app.Dockerfile.dockerignore").read_text()
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def test_build_context_cannot_carry_the_env_file() -> None:
    rules = dockerignore()
    assert rules[0] == "**", "the build context must be an allow-list"
    allowed = [rule[1:] for rule in rules if rule.startswith("!")]
    assert allowed
    assert not any(".env" in a or a in ("**", "deploy/**", "deploy/docker/**") for a in allowed)


def test_gateway_healthcheck_runs_doctor_and_gates_the_app() -> None:
    svc = services()
    health = svc["gateway-doctor"]["healthcheck"]
    test = health["test"]
    assert test[0] == "CMD" and test[1:3] == ["horizon-ibkr", "doctor"]
    args = [interpolate(a, {}) for a in doctor_argv(test[1:])]
    assert_doctor_gate(args)
    assert "--paper" in args
    assert flag_value(args, "--host") == "ib-gateway"
    assert flag_value(args, "--port") == "4004"
    assert int(flag_value(args, "--client-id")) == DOCTOR_CLIENT_ID
    assert {"interval", "timeout", "retries", "start_period"} <= set(health)
    assert svc["app"]["depends_on"]["gateway-doctor"]["condition"] == "service_healthy"
    assert "ib-gateway" in svc["gateway-doctor"]["depends_on"]


def test_doctor_probe_id_is_outside_the_app_client_id_range() -> None:
    ids = client_id_range(services()["app"]["environment"]["HORIZON_CLIENT_IDS"])
    assert DOCTOR_CLIENT_ID not in ids
    assert 0 not in ids, "clientId 0 is reserved for manual-order capture"


def test_app_image_builds_this_repository_and_runs_the_example() -> None:
    svc = services()
    build = svc["app"]["build"]
    assert (DOCKER / build["context"]).resolve() == ROOT
    dockerfile = ROOT / build["dockerfile"]
    assert dockerfile.is_file()
    assert svc["gateway-doctor"]["image"] == svc["app"]["image"]
    text = dockerfile.read_text()
    base = re.search(r"^FROM (\S+)", text, re.M)
    assert base and ":" in base.group(1) and not base.group(1).endswith(":latest")
    assert re.search(r"^USER (?!root)\S+", text, re.M), "run as a non-root user"
    assert "pip install" in text
    copies = re.findall(r"^COPY (.+) \S+$", text, re.M)
    sources = [s for line in copies for s in line.split()]
    allowed = [rule[1:] for rule in dockerignore() if rule.startswith("!")]
    for src in sources:
        assert any(a == src or a.startswith(f"{src}/") for a in allowed), f"{src} is ignored"
        if src != "README.md":  # written by the README's owner; pyproject requires it anyway
            assert (ROOT / src).exists(), src
    assert "deploy/app_example.py" in sources
    assert svc["app"]["command"][-1] == "/app/app_example.py"


# ---------------------------------------------------------------------------- systemd
def test_systemd_unit_restarts_runs_as_its_own_user_and_is_hardened() -> None:
    unit = unit_file(DEPLOY / "systemd" / "horizon-app.service")
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    s = unit["Service"]
    assert s["Restart"] == "always"
    assert int(s["RestartSec"]) > 0
    assert s["User"] not in ("", "root")
    assert s["EnvironmentFile"].startswith("/etc/")
    assert s["NoNewPrivileges"] == "yes"
    assert s["ProtectSystem"] == "strict"
    assert s["PrivateTmp"] == "yes"
    assert s["KillSignal"] == "SIGTERM"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    journal = env_file(DEPLOY / "systemd" / "horizon-app.env.example")["HORIZON_FILL_JOURNAL"]
    writable = s["ReadWritePaths"].split()
    assert any(Path(journal).is_relative_to(p) for p in writable), (journal, writable)


def test_systemd_start_is_gated_by_doctor_with_defined_variables() -> None:
    unit = unit_file(DEPLOY / "systemd" / "horizon-app.service")
    s = unit["Service"]
    env = env_file(DEPLOY / "systemd" / "horizon-app.env.example")
    pre = shlex.split(s["ExecStartPre"])
    assert_doctor_gate(doctor_argv(pre))
    for line in (s["ExecStartPre"], s["ExecStart"]):
        for var in re.findall(r"\$\{(\w+)\}", line):
            assert var in env, f"{var} is used by the unit but not set in the env example"
    expanded = doctor_argv(shlex.split(interpolate(s["ExecStartPre"], env)))
    assert "--paper" in expanded
    assert int(flag_value(expanded, "--client-id")) == DOCTOR_CLIENT_ID
    assert s["ExecStart"].endswith("app_example.py")
    assert env["HORIZON_IBKR_MODE"] == "paper"
    assert env["HORIZON_IBKR_PORT"] in ("4002", "7497")


def test_systemd_gateway_unit_keeps_ibc_in_the_foreground() -> None:
    s = unit_file(DEPLOY / "systemd" / "horizon-gateway.service")["Service"]
    assert s["Restart"] == "always"
    assert s["User"] not in ("", "root")
    assert s["ExecStart"].split()[-2:] == ["/opt/ibc/gatewaystart.sh", "-inline"]


# ---------------------------------------------------------------------------- supervisord
def supervisord_program() -> configparser.SectionProxy:
    conf = configparser.RawConfigParser(inline_comment_prefixes=None)
    conf.read_string((DEPLOY / "supervisord" / "horizon-app.conf").read_text())
    assert conf.sections() == ["program:horizon-app"]
    return conf["program:horizon-app"]


def test_supervisord_program_restarts_and_stops_gracefully() -> None:
    p = supervisord_program()
    assert p["autorestart"] == "true"
    assert int(p["startretries"]) >= 3
    assert p["stopsignal"] == "TERM"
    assert int(p["stopwaitsecs"]) >= 10
    assert p["user"] not in ("", "root")
    assert p["stdout_logfile"].startswith("/")
    assert int(p["stdout_logfile_maxbytes"].rstrip("MB")) > 0


def test_supervisord_runs_doctor_before_exec_of_the_app() -> None:
    p = supervisord_program()
    argv = shlex.split(p["command"])
    assert argv[:2] == ["/bin/sh", "-c"]
    script = argv[2]
    assert script.startswith("set -eu;"), "a failing doctor must stop the start"
    doctor, _, rest = script.partition("; exec ")
    assert rest.endswith("app_example.py"), "exec the app so it receives stopsignal itself"
    env = dict(re.findall(r'(\w+)="([^"]*)"', p["environment"]))
    words = shlex.split(doctor.removeprefix("set -eu;"))
    expanded = [re.sub(r"\$(\w+)", lambda m: env[m.group(1)], w) for w in words]
    args = doctor_argv(expanded)
    assert_doctor_gate(args)
    assert "--paper" in args
    # Same names and values as the systemd environment file: one set of settings to learn.
    systemd_env = env_file(DEPLOY / "systemd" / "horizon-app.env.example")
    assert {k: v for k, v in env.items() if k.startswith("HORIZON_")} == systemd_env


# ---------------------------------------------------------------------------- app_example.py
def example_tree() -> ast.Module:
    source = (DEPLOY / "app_example.py").read_text()
    compile(source, "app_example.py", "exec")
    return ast.parse(source)


def test_app_example_imports_only_the_stdlib_and_ibkr() -> None:
    for node in ast.walk(example_tree()):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] in sys.stdlib_module_names, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.module == "horizon.venues.ibkr":
                assert [a.name for a in node.names] == ["HealthServer", "Ibkr", "RestartWindow"]
            else:
                assert node.module and node.module.split(".")[0] in (
                    sys.stdlib_module_names | {"__future__"}
                ), node.module


def test_app_example_uses_only_the_documented_venue_api() -> None:
    tree = example_tree()
    calls = [
        n for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Ibkr"
    ]  # fmt: skip
    assert len(calls) == 1
    keywords = {k.arg for k in calls[0].keywords}
    assert "paper" in keywords and keywords <= IBKR_OPTIONS
    methods = {
        n.func.attr for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name) and n.func.value.id == "ibkr"
    }  # fmt: skip
    assert methods == IBKR_METHODS


def test_app_example_variables_are_documented_and_supplied() -> None:
    read = set(
        re.findall(r'environ\.get\("(HORIZON_\w+)"', (DEPLOY / "app_example.py").read_text())
    )
    readme = (DEPLOY / "README.md").read_text()
    assert read, "the example is configured by environment variables"
    for var in read:
        assert f"| `{var}` |" in readme, f"{var} has no row in deploy/README.md's table"
    supplied = set(services()["app"]["environment"]) | set(
        env_file(DEPLOY / "systemd" / "horizon-app.env.example")
    )
    assert supplied - read <= {"HORIZON_DOCTOR_CLIENT_ID"}, supplied - read


class FakeIbkr:
    """Stands in for the venue so the example's control flow runs without a gateway.

    `health_script` / `fill_script` are the answers to successive calls; once the health
    answers run out, the fake sends the process SIGTERM, as a supervisor stopping it would.
    """

    instances: ClassVar[list[FakeIbkr]] = []
    health_script: ClassVar[list[bool]] = []
    fill_script: ClassVar[list[list[Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[str] = []
        self.health = list(self.health_script)
        self.fills = list(self.fill_script)
        FakeIbkr.instances.append(self)

    def connect(self) -> None:
        self.calls.append("connect")

    def drain_fills(self) -> list[Any]:
        self.calls.append("drain_fills")
        return self.fills.pop(0) if self.fills else []

    def health_check(self) -> bool:
        self.calls.append("health_check")
        if not self.health:
            signal.raise_signal(signal.SIGTERM)
            return True
        return self.health.pop(0)

    def close(self) -> None:
        self.calls.append("close")


class FakeHealthServer:
    """The example serves probes only when HORIZON_HEALTH_PORT is set (not in these tests;
    the real server is tested against the simulator in tests/integration)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("no HORIZON_HEALTH_PORT was set")


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    stub = types.ModuleType("horizon.venues.ibkr")
    stub.Ibkr = FakeIbkr  # type: ignore[attr-defined]
    stub.HealthServer = FakeHealthServer  # type: ignore[attr-defined]
    stub.RestartWindow = object  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "horizon.venues.ibkr", stub)
    for key in ("HORIZON_IBKR_HOST", "HORIZON_IBKR_PORT", "HORIZON_IBKR_MODE",
                "HORIZON_CLIENT_IDS", "HORIZON_FILL_JOURNAL", "HORIZON_HEALTH_PORT"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HORIZON_HEALTH_INTERVAL", "0")
    monkeypatch.setenv("HORIZON_MAX_HEALTH_FAILURES", "3")
    FakeIbkr.instances.clear()
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    root_handlers = logging.root.handlers[:]
    spec = importlib.util.spec_from_file_location("app_example", DEPLOY / "app_example.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        yield module
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
        logging.root.handlers[:] = root_handlers


def test_app_example_defaults_to_paper_and_exits_when_unhealthy(
    example: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakeIbkr, "health_script", [False, False, False, True])
    assert example.main() == 1
    (venue,) = FakeIbkr.instances
    assert venue.kwargs["paper"] is True
    assert venue.kwargs["port"] == 4002
    assert venue.kwargs["client_id_range"] == (1, 9)
    assert venue.calls[0] == "connect" and venue.calls[-1] == "close"
    assert venue.calls.count("health_check") == 3


def test_app_example_drains_fills_and_stops_cleanly_on_sigterm(
    example: types.ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HORIZON_IBKR_MODE", "live")
    monkeypatch.setenv("HORIZON_IBKR_PORT", "4001")
    fill = types.SimpleNamespace(
        exec_id="E1", market_id="AAPL", side="buy", quantity=1, price=2, fee=None, corrects=None
    )
    monkeypatch.setattr(FakeIbkr, "health_script", [False, True])
    monkeypatch.setattr(FakeIbkr, "fill_script", [[fill]])
    with caplog.at_level(logging.INFO, logger="horizon.deploy.app"):
        assert example.main() == 0
    (venue,) = FakeIbkr.instances
    assert venue.kwargs["paper"] is False
    assert venue.kwargs["port"] == 4001
    assert venue.calls.count("health_check") == 3  # False, True, then the SIGTERM
    assert venue.calls[-1] == "close"
    (logged,) = [r for r in caplog.records if r.getMessage() == "fill"]
    assert logged.exec_id == "E1"  # type: ignore[attr-defined]


def test_app_example_refuses_an_unknown_mode(
    example: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HORIZON_IBKR_MODE", "both")
    assert example.main() == 2
    assert FakeIbkr.instances == []


# ---------------------------------------------------------------------------- scripts and docs
def test_shell_snippets_fail_fast() -> None:
    for script in DEPLOY.rglob("*.sh"):
        head = script.read_text().splitlines()[:5]
        assert "set -euo pipefail" in head, script
    assert shlex.split(supervisord_program()["command"])[2].startswith("set -eu;")


# `horizon-ibkr SUB` followed by any run of `--flag [value]`.
CLI_CALL = re.compile(r"horizon-ibkr ([a-z]+)((?: +--?[\w-]+(?: +[^\s`\-][^\s`]*)?)*)")


def cli_invocations(text: str) -> Iterator[list[str]]:
    for line in text.splitlines():
        for match in CLI_CALL.finditer(line):
            yield [match.group(1), *match.group(2).split()]


def test_docs_exist_and_use_only_real_cli_flags() -> None:
    seen: set[str] = set()
    for doc in DOC_FILES:
        text = doc.read_text()
        assert len(text) > 500, doc
        for sub, *args in cli_invocations(text):
            assert sub in CLI_FLAGS, f"{doc.name}: unknown subcommand {sub}"
            flags = {a for a in args if a.startswith("--")}
            assert flags <= CLI_FLAGS[sub], f"{doc.name}: invented flags {flags - CLI_FLAGS[sub]}"
            seen.add(sub)
    assert {"doctor", "sim"} <= seen


def test_paths_named_in_docs_exist() -> None:
    for doc in DOC_FILES:
        text = doc.read_text()
        for path in set(re.findall(r"(?<![\w.])((?:deploy|docs)/[\w./-]+\w)", text)):
            if path == "deploy/docker/.env":  # created by the user from .env.example
                continue
            assert (ROOT / path).exists(), f"{doc.name} names missing {path}"
        for link in re.findall(r"\]\(([^)#]+)", text):
            if "://" not in link:
                assert (doc.parent / link).resolve().exists(), f"{doc.name}: broken link {link}"


def test_compose_commands_in_docs_name_the_real_file() -> None:
    for doc in DOC_FILES:
        for target in re.findall(r"docker compose -f (\S+)", doc.read_text()):
            assert target == "deploy/docker/compose.yaml", f"{doc.name}: {target}"


def test_troubleshooting_covers_the_spec_gotchas() -> None:
    text = (ROOT / "docs" / "troubleshooting.md").read_text()
    for code in ("326", "354", "10167", "10168", "100", "1100", "1102", "2104"):
        assert re.search(rf"^\| [\d, ]*\b{code}\b", text, re.M), f"no table row for {code}"
    for topic in ("restart", "UTC", "subscription", "half-open", "socat"):
        assert topic in text, topic

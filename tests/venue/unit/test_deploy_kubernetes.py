"""The Kubernetes example, structurally: probes on the app's health server, credentials only
in the gateway, one replica of each, paper by default, and only the app reaching the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

K8S = Path(__file__).resolve().parents[3] / "deploy" / "kubernetes"


def documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def by_kind(name: str, kind: str) -> dict[str, Any]:
    [doc] = [d for d in documents(name) if d["kind"] == kind]
    return doc


def containers(name: str) -> dict[str, dict[str, Any]]:
    spec = by_kind(name, "Deployment")["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"]}


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def test_the_kustomization_applies_everything_but_the_secret_example() -> None:
    resources = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(resources) == ["app.yaml", "gateway.yaml", "networkpolicy.yaml"]
    for name in resources:
        assert (K8S / name).exists()
    secret = by_kind("secret.example.yaml", "Secret")
    assert all(v == "" for v in secret["stringData"].values())  # a shape, never a value


def test_one_replica_each_and_never_two_at_once() -> None:
    for name in ("gateway.yaml", "app.yaml"):
        spec = by_kind(name, "Deployment")["spec"]
        assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate", name


def test_the_app_is_probed_on_its_health_server() -> None:
    app = containers("app.yaml")["app"]
    assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert app["startupProbe"]["httpGet"]["path"] == "/healthz"
    port = {p["name"]: p["containerPort"] for p in app["ports"]}["health"]
    assert env(app)["HORIZON_HEALTH_PORT"] == str(port)
    assert env(app)["HORIZON_IBKR_MODE"] == "paper" and env(app)["HORIZON_IBKR_PORT"] == "4004"
    assert "envFrom" not in app  # no credentials in the app


def test_credentials_reach_only_the_gateway_and_its_readiness_is_doctor() -> None:
    pod = containers("gateway.yaml")
    gateway = pod["ib-gateway"]
    assert gateway["envFrom"] == [{"secretRef": {"name": "ibc-credentials"}}]
    assert env(gateway)["TRADING_MODE"] == "paper"
    probe = pod["gateway-doctor"]["readinessProbe"]["exec"]["command"]
    assert probe[:2] == ["horizon-ibkr", "doctor"] and "--paper" in probe
    assert probe[probe.index("--client-id") + 1] == "99"  # outside the app's range 1-9


def test_only_the_app_may_reach_the_api_port() -> None:
    policy = by_kind("networkpolicy.yaml", "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "ib-gateway"}
    [rule] = policy["ingress"]
    app = {"app.kubernetes.io/name": "horizon-app"}
    assert rule["from"] == [{"podSelector": {"matchLabels": app}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 4004}]
    service = by_kind("gateway.yaml", "Service")["spec"]
    assert [p["port"] for p in service["ports"]] == [4004]

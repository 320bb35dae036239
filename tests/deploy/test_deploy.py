"""deploy/: the image, the compose stack and the Kubernetes manifests, read as files (no
container engine or cluster runs here): well-formed, pinned, and in step with the code they
ship — its modules, the environment it reads, its search attributes, its configuration, its
metrics. The one script that can run here, the results store's database set-up, runs against
a real PostgreSQL when Debian's package is installed."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy import URL, create_engine, inspect, make_url, text
from temporalio.common import SearchAttributeIndexedValueType as Indexed

from api.metrics import ApiMetrics
from contracts import search_attributes as sa
from leads.config import parse_config
from results.store import ResultsStore
from tests import postgres
from worker import DEFAULT_METRICS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"

# The `temporal` CLI's names for the SDK's search attribute types.
CLI_TYPE = {
    Indexed.TEXT: "Text",
    Indexed.KEYWORD: "Keyword",
    Indexed.INT: "Int",
    Indexed.DOUBLE: "Double",
    Indexed.BOOL: "Bool",
    Indexed.DATETIME: "Datetime",
    Indexed.KEYWORD_LIST: "KeywordList",
}

# What each process cannot start without (codec.py, api/codec_routes.py), and the results
# store every replica shares (without it each container would keep a SQLite file of its own).
REQUIRED_ENV = {
    "worker": {"TEMPORAL_ADDRESS", "BLANCO_CONFIG", "BLANCO_CODEC_KEY", "BLANCO_RESULTS_URL"},
    "api": {
        "TEMPORAL_ADDRESS",
        "BLANCO_CONFIG",
        "BLANCO_CODEC_KEY",
        "BLANCO_OPERATOR_TOKEN",
        "BLANCO_RESULTS_URL",
    },
}

API_ARGS = ["--host", "0.0.0.0", "--port", "8000"]

# The version tag of a pinned image: 16.10, 1.31.0, 3.11.14-slim-bookworm, v3.5.0 (Prometheus
# tags its releases with a v); not 16, not latest.
PINNED_TAG = re.compile(r"^v?\d+(\.\d+)+([-.][A-Za-z0-9.-]+)?$")


def pinned(image: str) -> bool:
    name, _, _digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    _, colon, tag = last.partition(":")
    return bool(colon) and PINNED_TAG.match(tag) is not None


def load_all(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


# --- what the code reads ------------------------------------------------------------------


def source_files() -> list[Path]:
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    modules = [ROOT / f"{name}.py" for name in packages["py-modules"]]
    for pattern in packages["packages"]["find"]["include"]:
        package = ROOT / pattern.rstrip("*")
        modules += sorted(package.rglob("*.py"))
    return modules


# Read for client.connect by the SDK's environment configuration (temporalio.envconfig).
TEMPORAL_ENVCONFIG = frozenset(
    {
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "TEMPORAL_API_KEY",
        "TEMPORAL_TLS_CLIENT_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_KEY_PATH",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        "TEMPORAL_TLS_SERVER_NAME",
        "TEMPORAL_CONFIG_FILE",
        "TEMPORAL_PROFILE",
    }
)


@cache
def env_read_by_the_code() -> frozenset[str]:
    # `environ)`: `(env if env is not None else os.environ).get("…")` (results/store.py).
    read = re.compile(r"\b(?:environ|env|getenv)\)?(?:\.get\(|\.setdefault\(|\(|\[)\s*\"(\w+)\"")
    found = {
        name for path in source_files() for name in read.findall(path.read_text(encoding="utf-8"))
    }
    return frozenset(found | TEMPORAL_ENVCONFIG)


def test_the_scan_of_the_code_finds_its_environment() -> None:
    """The environment checks below rely on this scan: it must see docs/operating.md's names."""
    wanted = {"BLANCO_CONFIG", "BLANCO_CODEC_KEY", "BLANCO_OUTBOX", "BLANCO_RESULTS_URL"}
    assert wanted <= env_read_by_the_code()


# --- every YAML file ----------------------------------------------------------------------

YAML_FILES = sorted(DEPLOY.rglob("*.yaml"))


def test_deploy_has_its_files() -> None:
    names = {path.relative_to(DEPLOY).as_posix() for path in DEPLOY.rglob("*") if path.is_file()}
    wanted = {"Dockerfile", "Dockerfile.dockerignore", "compose.yaml", "README.md"}
    wanted |= {f"k8s/{name}.yaml" for name in ("namespace", "secret", "configmap", "worker", "api")}
    assert wanted <= names


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_yaml_is_well_formed(path: Path) -> None:
    documents = load_all(path)
    assert documents, f"{path.name} holds no document"
    assert all(isinstance(doc, dict) for doc in documents)


# --- compose ------------------------------------------------------------------------------


(COMPOSE,) = load_all(DEPLOY / "compose.yaml")
SERVICES: dict[str, Any] = COMPOSE["services"]
STACK = {
    *("postgresql", "results-db", "temporal", "temporal-ui", "temporal-setup"),
    *("worker", "api", "prometheus", "grafana"),
}


def interpolate_defaults(text: str) -> str:
    """Compose's `${NAME:-default}` with the default; `${NAME:?error}` and `${NAME}` as NAME."""
    text = re.sub(r"\$\{(\w+):?-([^}]*)\}", r"\2", text)
    return re.sub(r"\$\{(\w+)(:?\?[^}]*)?\}", r"\1", text)


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    """(host path, container path) of the service's bind mounts (not its named volumes)."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = interpolate_defaults(volume).split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append(((DEPLOY / source).resolve(), target))
    return mounts


def test_compose_has_the_whole_stack() -> None:
    assert set(SERVICES) >= STACK


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_an_image_or_a_build_and_a_restart_policy(name: str) -> None:
    service = SERVICES[name]
    assert "image" in service or "build" in service
    restart = str(service.get("restart", ""))
    assert restart in {"unless-stopped", "always"} or restart.startswith("on-failure")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_image_is_pinned(name: str) -> None:
    service = SERVICES[name]
    image = str(service.get("image", ""))
    if "build" in service:  # the image it builds: a tag of our own, never latest
        assert image and not image.endswith(":latest")
    else:
        assert pinned(image), f"{name}: {image!r} is not pinned to a version"


@pytest.mark.parametrize("name", ["worker", "api"])
def test_worker_and_api_build_from_the_dockerfile(name: str) -> None:
    build = SERVICES[name]["build"]
    assert (DEPLOY / build["context"]).resolve() == ROOT
    assert build["dockerfile"] == "deploy/Dockerfile"


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("worker", ["python", "worker.py"]),
        ("api", ["python", "-m", "api", *API_ARGS]),
    ],
)
def test_worker_and_api_run_the_commands_of_design(name: str, command: list[str]) -> None:
    assert SERVICES[name]["command"] == command


@pytest.mark.parametrize(
    ("name", "dependency", "condition"),
    [
        ("temporal", "temporal-schema", "service_completed_successfully"),
        ("temporal-schema", "postgresql", "service_healthy"),
        ("temporal-setup", "temporal", "service_healthy"),
        ("temporal-ui", "temporal", "service_healthy"),
        ("worker", "temporal-setup", "service_completed_successfully"),
        ("api", "temporal-setup", "service_completed_successfully"),
        ("results-db", "postgresql", "service_healthy"),
        ("worker", "results-db", "service_completed_successfully"),
        ("api", "results-db", "service_completed_successfully"),
        ("grafana", "prometheus", "service_healthy"),
    ],
)
def test_services_wait_for_what_they_need(name: str, dependency: str, condition: str) -> None:
    assert SERVICES[name]["depends_on"][dependency]["condition"] == condition


@pytest.mark.parametrize(
    ("name", "probe"),
    [
        ("postgresql", "pg_isready"),
        ("temporal", "7233"),
        ("api", "/healthz"),
        ("prometheus", "/-/ready"),
    ],
)
def test_long_running_services_have_healthchecks(name: str, probe: str) -> None:
    assert probe in " ".join(SERVICES[name]["healthcheck"]["test"])


@pytest.mark.parametrize(
    ("name", "port"),
    [
        ("api", "8000:8000"),
        ("temporal-ui", "8080:8080"),
        ("prometheus", "9090:9090"),
        ("grafana", "3000:3000"),
    ],
)
def test_published_ports(name: str, port: str) -> None:
    assert any(str(entry).endswith(port) for entry in SERVICES[name]["ports"])


@pytest.mark.parametrize("name", ["temporal", "temporal-ui", "prometheus", "grafana"])
def test_operator_ports_listen_on_loopback_only(name: str) -> None:
    """No login (the UIs, Prometheus) or an operator's one (Grafana): reached through a tunnel
    or an authenticating proxy, never published on every interface."""
    for entry in SERVICES[name]["ports"]:
        assert str(entry).startswith("127.0.0.1:"), f"{name} publishes {entry}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_bind_mount_exists(name: str) -> None:
    for source, target in bind_mounts(SERVICES[name]):
        assert source.exists(), f"{name}: {source} (for {target}) does not exist"


@pytest.mark.parametrize("name", ["worker", "api"])
def test_compose_environment_is_what_the_code_reads(name: str) -> None:
    environment: dict[str, str] = SERVICES[name]["environment"]
    assert set(environment) >= REQUIRED_ENV[name]
    unread = set(environment) - env_read_by_the_code()
    assert not unread, f"{name} sets {sorted(unread)}, which nothing reads"


@pytest.mark.parametrize(
    ("name", "key", "variable"),
    [
        ("worker", "BLANCO_CODEC_KEY", "BLANCO_CODEC_KEY"),
        ("api", "BLANCO_CODEC_KEY", "BLANCO_CODEC_KEY"),
        ("api", "BLANCO_OPERATOR_TOKEN", "BLANCO_OPERATOR_TOKEN"),
        ("postgresql", "POSTGRES_PASSWORD", "POSTGRES_PASSWORD"),
        ("results-db", "PGPASSWORD", "POSTGRES_PASSWORD"),
        ("results-db", "BLANCO_RESULTS_PASSWORD", "BLANCO_RESULTS_PASSWORD"),
        ("grafana", "GF_SECURITY_ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD"),
    ],
)
def test_secrets_must_be_set(name: str, key: str, variable: str) -> None:
    """`${NAME:?message}`: compose refuses to start without them, rather than run without (or
    with a default password committed here)."""
    assert SERVICES[name]["environment"][key].startswith(f"${{{variable}:?")


@pytest.mark.parametrize("name", ["worker", "api"])
def test_the_results_url_needs_its_password(name: str) -> None:
    assert "${BLANCO_RESULTS_PASSWORD:?" in SERVICES[name]["environment"]["BLANCO_RESULTS_URL"]


def compose_variables() -> set[str]:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    return set(re.findall(r"\$\{(\w+)", text))


def test_env_example_names_every_variable_compose_reads() -> None:
    documented = set(
        re.findall(r"^(\w+)=", (DEPLOY / "env.example").read_text(encoding="utf-8"), re.M)
    )
    missing = compose_variables() - documented
    assert not missing, f"deploy/env.example lacks {sorted(missing)}"


def test_the_ui_decodes_through_the_api() -> None:
    environment = SERVICES["temporal-ui"]["environment"]
    assert environment["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert environment["TEMPORAL_CODEC_ENDPOINT"].startswith("http://localhost:8000/v1/codec/")


def test_the_default_config_file_of_compose_parses() -> None:
    (config,) = [s for s, t in bind_mounts(SERVICES["worker"]) if t == "/etc/blanco/blanco.toml"]
    parse_config(tomllib.loads(config.read_text(encoding="utf-8")))


# --- the search attributes the setup service registers ------------------------------------


def setup_script(name: str = "temporal-setup") -> str:
    """The script a one-shot service runs: its command, through the service's bind mounts."""
    service = SERVICES[name]
    (script,) = [str(word) for word in service["command"] if str(word).endswith(".sh")]
    for source, target in bind_mounts(service):
        if script.startswith(target.rstrip("/") + "/"):
            return (source / script[len(target) :].lstrip("/")).read_text(encoding="utf-8")
    raise AssertionError(f"{script} is not mounted into {name}")


def test_setup_creates_exactly_the_search_attributes_of_the_code() -> None:
    created = re.findall(
        r"search-attribute create .*--name (\w+) --type (\w+)", setup_script(), re.MULTILINE
    )
    wanted = [(key.name, CLI_TYPE[key.indexed_value_type]) for key in sa.ALL]
    assert sorted(created) == sorted(wanted)
    assert len(created) == len(set(created)), "an attribute is created twice"


def test_setup_waits_and_stops_on_errors() -> None:
    script = setup_script()
    assert "set -eu" in script
    assert "cluster health" in script


# --- Kubernetes ---------------------------------------------------------------------------

K8S_DOCUMENTS = [(path.name, doc) for path in sorted(K8S.glob("*.yaml")) for doc in load_all(path)]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in K8S_DOCUMENTS if doc.get("kind") == kind]


def deployment(name: str) -> dict[str, Any]:
    (found,) = [doc for doc in of_kind("Deployment") if doc["metadata"]["name"] == name]
    return found


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
    return found


def env_names(container: dict[str, Any]) -> set[str]:
    return {entry["name"] for entry in container.get("env", [])}


DEPLOYMENTS = [doc["metadata"]["name"] for doc in of_kind("Deployment")]
COMPONENTS = [("blanco-worker", "worker"), ("blanco-api", "api")]


@pytest.mark.parametrize(
    ("file", "doc"), K8S_DOCUMENTS, ids=[f"{f}:{d.get('kind')}" for f, d in K8S_DOCUMENTS]
)
def test_every_document_names_itself(file: str, doc: dict[str, Any]) -> None:
    assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name")
    if doc["kind"] != "Namespace":
        assert doc["metadata"].get("namespace") == "blanco"


def test_the_manifests_hold_the_expected_kinds() -> None:
    kinds = {doc["kind"] for _, doc in K8S_DOCUMENTS}
    assert kinds >= {"Namespace", "Secret", "ConfigMap", "Deployment", "Service"}
    assert sorted(DEPLOYMENTS) == ["blanco-api", "blanco-worker"]


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_deployments_are_fit_for_a_cluster(name: str) -> None:
    doc = deployment(name)
    pod = doc["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (
        doc["spec"]["selector"]["matchLabels"].items()
        <= doc["spec"]["template"]["metadata"]["labels"].items()
    )
    for container in containers(doc):
        assert pinned(container["image"]), container["image"]
        requests = container["resources"]["requests"]
        assert requests.get("cpu") and requests.get("memory")
        assert container["resources"]["limits"].get("memory")
        assert container["livenessProbe"] and container["readinessProbe"]
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_probes_use_ports_the_container_declares(name: str) -> None:
    for container in containers(deployment(name)):
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["port"] in ports


@pytest.mark.parametrize(
    ("name", "command", "port", "path"),
    [
        ("blanco-worker", ["python", "worker.py"], 9464, "/metrics"),
        ("blanco-api", ["python", "-m", "api", *API_ARGS], 8000, "/healthz"),
    ],
)
def test_each_deployment_runs_its_command_and_probes_its_endpoint(
    name: str, command: list[str], port: int, path: str
) -> None:
    (container,) = containers(deployment(name))
    assert container["command"] == command
    (declared,) = container["ports"]
    assert declared["containerPort"] == port
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": path, "port": declared["name"]}


def test_the_worker_runs_two_replicas_and_autoscales_on_cpu() -> None:
    assert deployment("blanco-worker")["spec"]["replicas"] == 2
    worker = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "blanco-worker"}
    autoscalers = of_kind("HorizontalPodAutoscaler")
    (hpa,) = [doc for doc in autoscalers if doc["spec"]["scaleTargetRef"] == worker]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    assert [metric["resource"]["name"] for metric in hpa["spec"]["metrics"]] == ["cpu"]


def test_the_api_service_reaches_the_api_pods() -> None:
    (service,) = of_kind("Service")
    api = deployment("blanco-api")
    assert (
        service["spec"]["selector"].items() <= api["spec"]["template"]["metadata"]["labels"].items()
    )
    (port,) = service["spec"]["ports"]
    (container,) = containers(api)
    assert port["port"] == 80
    assert port["targetPort"] in {p["name"] for p in container["ports"]} | {8000}


@pytest.mark.parametrize(("name", "process"), COMPONENTS)
def test_kubernetes_environment_is_what_the_code_reads(name: str, process: str) -> None:
    (container,) = containers(deployment(name))
    names = env_names(container)
    assert names >= REQUIRED_ENV[process]
    unread = names - env_read_by_the_code()
    assert not unread, f"{name} sets {sorted(unread)}, which nothing reads"


def test_the_secret_has_every_key_the_deployments_use() -> None:
    secrets = {doc["metadata"]["name"]: doc for doc in of_kind("Secret")}
    for name in DEPLOYMENTS:
        for container in containers(deployment(name)):
            for entry in container.get("env", []):
                reference = entry.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    secret = secrets[reference["name"]]
                    keys = {**secret.get("data", {}), **secret.get("stringData", {})}
                    assert reference["key"] in keys, f"{name}: {reference}"
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets


def test_the_secret_template_holds_no_secret() -> None:
    (secret,) = of_kind("Secret")
    assert secret["type"] == "Opaque" and "data" not in secret
    assert set(secret["stringData"]) >= {
        "BLANCO_CODEC_KEY",
        "BLANCO_RESULTS_URL",
        "BLANCO_OPERATOR_TOKEN",
        "SENDGRID_API_KEY",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "SENDGRID_EVENT_PUBLIC_KEY",
        "SENDGRID_PARSE_BASIC_AUTH",
    }
    for key, value in secret["stringData"].items():
        assert value == "" or "REPLACE-ME" in value, f"{key} looks like a real value"


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_the_config_map_is_mounted_where_blanco_config_points(name: str) -> None:
    doc = deployment(name)
    (container,) = containers(doc)
    (config_path,) = [e["value"] for e in container["env"] if e["name"] == "BLANCO_CONFIG"]
    volumes = {v["name"]: v for v in doc["spec"]["template"]["spec"]["volumes"]}
    mounted = [
        (mount["mountPath"], volumes[mount["name"]])
        for mount in container["volumeMounts"]
        if "configMap" in volumes[mount["name"]]
    ]
    ((directory, volume),) = mounted
    (item,) = volume["configMap"]["items"]
    assert f"{directory}/{item['path']}" == config_path
    assert volume["configMap"]["name"] in {doc["metadata"]["name"] for doc in of_kind("ConfigMap")}


def test_the_config_map_holds_a_valid_configuration() -> None:
    (config_map,) = of_kind("ConfigMap")
    config = parse_config(tomllib.loads(config_map["data"]["blanco.toml"]))
    assert config.api.public_base_url.startswith("https://")


# --- the Dockerfile -----------------------------------------------------------------------


@cache
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for raw in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        keyword, _, arguments = (current + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def arguments(instruction: str) -> list[str]:
    return [args for keyword, args in dockerfile() if keyword == instruction]


def copied_sources() -> list[str]:
    """Every build-context path a COPY takes (not those taken from another stage)."""
    sources = []
    for args in arguments("COPY"):
        words = shlex.split(args)
        if any(word.startswith("--from") for word in words):
            continue
        sources += [word for word in words if not word.startswith("--")][:-1]
    return sources


def test_the_base_image_is_pinned() -> None:
    defaults = {name: value for name, _, value in (a.partition("=") for a in arguments("ARG"))}
    stages: set[str] = set()
    froms = arguments("FROM")
    assert froms
    for args in froms:
        image, *alias = args.split()
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults[m.group(1)], image)
        exact = re.search(r":\d+\.\d+\.\d+", image)  # python:3.11.14-…, not python:3.11-…
        assert image in stages or (pinned(image) and exact), f"FROM {image} is not pinned"
        if alias:
            stages.add(alias[-1])


def test_it_runs_as_a_fixed_non_root_user() -> None:
    user = arguments("USER")[-1].split(":")[0]
    assert user == "10001"


def test_it_runs_the_worker_from_app_unbuffered() -> None:
    assert arguments("WORKDIR")[-1] == "/app"
    assert json.loads(arguments("CMD")[-1]) == ["python", "worker.py"]
    assert any("PYTHONUNBUFFERED=1" in args for args in arguments("ENV"))


@pytest.mark.parametrize("source", copied_sources())
def test_every_copied_path_exists(source: str) -> None:
    assert (ROOT / source).exists()


def test_the_image_has_every_module_the_commands_import() -> None:
    """Every top-level module and every package of pyproject.toml is copied into /app."""
    copied = {source.rstrip("/") for source in copied_sources()}
    modules = {path.relative_to(ROOT).as_posix() for path in source_files()}
    top_level = {module.split("/")[0] for module in modules}
    top_level |= {path.name for path in ROOT.glob("*.py")}
    assert top_level <= copied
    assert "blanco.toml" in copied


@pytest.mark.parametrize("kept_out", [".git", ".venv", ".data", "tests", "bench"])
def test_the_build_context_leaves_out(kept_out: str) -> None:
    patterns = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert kept_out in patterns


def test_the_build_context_keeps_what_the_image_copies() -> None:
    lines = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line for line in lines if line and not line.startswith(("#", "!"))]
    for source in copied_sources():
        for pattern in patterns:
            assert not fnmatch.fnmatch(source.rstrip("/"), pattern), f"{pattern} drops {source}"


def test_constraints_hold_the_pins_of_pyproject() -> None:
    """deploy/constraints.txt must agree with pyproject.toml; regenerate it as its header says."""
    constraints = {}
    for line in (DEPLOY / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{line!r} is not name==version"
            constraints[canonical(name)] = version
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dependency in dependencies:
        name, _, version = dependency.partition("==")
        # `psycopg[binary]` installs psycopg (and psycopg-binary): pip freeze names no extras,
        # and pip refuses a constraint that has any.
        name = name.split("[")[0]
        assert constraints.get(canonical(name)) == version, f"{dependency} vs constraints.txt"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the results store's database ---------------------------------------------------------

RESULTS_SCRIPT = DEPLOY / "postgresql" / "results.sh"


def compose_results_url(name: str) -> URL:
    """The worker's or API's BLANCO_RESULTS_URL with compose's variables as their names."""
    return make_url(interpolate_defaults(SERVICES[name]["environment"]["BLANCO_RESULTS_URL"]))


def test_results_db_runs_the_script_of_deploy_postgresql() -> None:
    assert setup_script("results-db") == RESULTS_SCRIPT.read_text(encoding="utf-8")
    assert SERVICES["results-db"]["environment"]["PGHOST"] == "postgresql"


@pytest.mark.parametrize("name", ["worker", "api"])
def test_the_results_url_is_the_database_results_db_makes(name: str) -> None:
    url = compose_results_url(name)
    script = RESULTS_SCRIPT.read_text(encoding="utf-8")
    assert url.get_backend_name() == "postgresql"
    assert (url.host, url.port) == ("postgresql", 5432)
    assert url.password == "BLANCO_RESULTS_PASSWORD"
    assert f"CREATE ROLE {url.username}" in script
    assert f"CREATE DATABASE {url.database} OWNER {url.username}" in script


@pytest.mark.parametrize(("name", "process"), COMPONENTS)
def test_kubernetes_reads_the_results_url_from_the_secret(name: str, process: str) -> None:
    (container,) = containers(deployment(name))
    (entry,) = [e for e in container["env"] if e["name"] == "BLANCO_RESULTS_URL"]
    assert entry["valueFrom"]["secretKeyRef"] == {
        "name": "blanco-secrets",
        "key": "BLANCO_RESULTS_URL",
    }


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    if not postgres.available():
        pytest.skip("PostgreSQL is not installed (no initdb): `apt-get install postgresql`")
    with postgres.running() as server:
        yield server


def run_results_script(server: postgres.PostgresServer, password: str) -> str:
    """deploy/postgresql/results.sh as results-db runs it, against the test's server."""
    environment = {
        "PATH": f"{server.bin}:/usr/bin:/bin",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(server.port),
        "PGUSER": "postgres",
        "BLANCO_RESULTS_PASSWORD": password,
    }
    done = subprocess.run(
        ["sh", str(RESULTS_SCRIPT)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def role_and_database(server: postgres.PostgresServer) -> tuple[Any, ...]:
    engine = create_engine(server.url().replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT r.rolcanlogin, r.rolsuper, r.rolpassword,"
                    " pg_get_userbyid(d.datdba), has_database_privilege('public', d.oid, 'CONNECT')"
                    " FROM pg_authid r, pg_database d"
                    " WHERE r.rolname = 'blanco' AND d.datname = 'blanco'"
                )
            ).one()
            return tuple(row)
    finally:
        engine.dispose()


def test_the_results_script_makes_the_role_and_database_and_runs_again(
    postgres_server: postgres.PostgresServer,
) -> None:
    """Every `docker compose up` runs it: the second run finds both and changes the password
    only; then the store migrates as that role in that database."""
    assert "is ready" in run_results_script(postgres_server, "first0password")
    can_login, superuser, first_hash, owner, public_connects = role_and_database(postgres_server)
    assert (can_login, superuser, owner, public_connects) == (True, False, "blanco", False)
    assert first_hash.startswith("SCRAM-SHA-256$")

    run_results_script(postgres_server, "second0password")
    *_, second_hash, _, _ = role_and_database(postgres_server)
    assert second_hash != first_hash

    url = postgres_server.url("blanco").replace("postgres@", "blanco:second0password@")
    store = ResultsStore(url)
    try:
        store.upgrade()
        assert {"conversations", "tasks"} <= set(inspect(store.engine).get_table_names())
    finally:
        store.close()


# --- Prometheus and Grafana ---------------------------------------------------------------

GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "blanco.json"
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def container_file(service: str, path: str) -> Path:
    """The file of deploy/ that a service sees at `path`, through its bind mounts."""
    for source, target in bind_mounts(SERVICES[service]):
        if path == target:
            return source
        if path.startswith(target.rstrip("/") + "/"):
            return source / path[len(target) :].lstrip("/")
    raise AssertionError(f"{service} has nothing of deploy/ mounted at {path}")


def prometheus_config() -> dict[str, Any]:
    (flag,) = [a for a in SERVICES["prometheus"]["command"] if a.startswith("--config.file=")]
    config: dict[str, Any] = yaml.safe_load(
        container_file("prometheus", flag.partition("=")[2]).read_text(encoding="utf-8")
    )
    return config


def scraped() -> dict[str, tuple[str, int, str]]:
    """job → (compose service, port, path) of every scrape job."""
    jobs = {}
    for job in prometheus_config()["scrape_configs"]:
        (sd,) = job["dns_sd_configs"]
        (name,) = sd["names"]
        jobs[job["job_name"]] = (name, sd["port"], job.get("metrics_path", "/metrics"))
    return jobs


def test_prometheus_scrapes_the_worker_and_the_api_where_they_serve_metrics() -> None:
    worker_port = int(DEFAULT_METRICS.rpartition(":")[2])
    assert "BLANCO_WORKER_METRICS" not in SERVICES["worker"]["environment"]  # the default port
    api_port = int(API_ARGS[API_ARGS.index("--port") + 1])
    assert sorted(scraped().values()) == [
        ("api", api_port, "/metrics"),
        ("worker", worker_port, "/metrics"),
    ]


def provisioning(kind: str) -> list[dict[str, Any]]:
    folder = container_file("grafana", f"/etc/grafana/provisioning/{kind}")
    return [
        yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.yaml"))
    ]


def test_grafana_provisions_the_stacks_prometheus_as_its_datasource() -> None:
    (config,) = provisioning("datasources")
    (source,) = config["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"] is True
    url = urlsplit(source["url"])
    assert url.hostname == "prometheus" and url.hostname in SERVICES
    assert any(str(entry).endswith(f":{url.port}") for entry in SERVICES["prometheus"]["ports"])


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def test_grafana_provisions_the_dashboard_from_deploy_grafana() -> None:
    (config,) = provisioning("dashboards")
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    folder = container_file("grafana", provider["options"]["path"])
    assert DASHBOARD.parent == folder and DASHBOARD.exists()
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert container_file("grafana", home) == DASHBOARD


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for child in node.values():
            yield from walk(child)
    elif isinstance(node, list):
        for child in node:
            yield from walk(child)


def test_the_dashboard_is_valid_json_on_the_provisioned_datasource() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] and board["panels"]
    (config,) = provisioning("datasources")
    uid = config["datasources"][0]["uid"]
    used = {
        node["datasource"]["uid"]
        for node in walk(board)
        if isinstance(node.get("datasource"), dict)
    }
    assert used == {uid}
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["targets"], f"{panel['title']} queries nothing"


def dashboard_queries() -> list[str]:
    queries = [node["expr"] for node in walk(dashboard()) if "expr" in node]
    for variable in dashboard()["templating"]["list"]:
        query = variable["query"]
        queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


# What PromQL says that is not a metric; label names (after `by`) and matchers are cut first.
PROMQL_WORDS = frozenset(
    {"sum", "rate", "increase", "histogram_quantile", "clamp_min", "label_values", "by"}
)


def metrics_named(query: str) -> set[str]:
    query = re.sub(r'"[^"]*"', "", query)  # strings: matchers' values
    query = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", query)  # matchers, ranges ($__rate_interval)
    query = re.sub(r"\b(by|without)\s*\([^)]*\)", r"\1", query)  # label names
    query = re.sub(r"(label_values\([^,)]*),[^)]*\)", r"\1)", query)  # its label argument
    query = re.sub(r"\b\d+(\.\d+)?(e[-+]?\d+)?\b|\$\w+", "", query)  # numbers, variables
    return set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", query)) - PROMQL_WORDS


def worker_series() -> set[str]:
    """The series Blanco adds to the worker's endpoint: the names in workflows/ and
    activities/, given whole to the SDK's meter; a histogram's as Prometheus exposes it."""
    constants: dict[str, str] = {}
    histograms: set[str] = set()
    for path in source_files():
        if path.relative_to(ROOT).parts[0] not in {"workflows", "activities"}:
            continue
        code = path.read_text(encoding="utf-8")
        constants |= dict(re.findall(r'^([A-Z][A-Z0-9_]*) = "(blanco_\w+)"', code, re.M))
        histograms |= set(re.findall(r"create_histogram\w*\(\s*([A-Z][A-Z0-9_]*)", code))
    series = set()
    for constant, name in constants.items():
        is_histogram = constant in histograms
        series |= {name + s for s in HISTOGRAM_SERIES} if is_histogram else {name}
    return series


def api_series() -> set[str]:
    """The API's own series, from its registry (prometheus_client adds `_total`)."""
    series = set()
    for family in ApiMetrics().registry.collect():
        if family.type == "counter":
            series.add(family.name + "_total")
        elif family.type == "histogram":
            series |= {family.name + s for s in HISTOGRAM_SERIES}
        else:
            series.add(family.name)
    return series


def test_the_scan_of_the_code_finds_its_metrics() -> None:
    """The dashboard check below relies on these scans: they must see the known names."""
    assert {"blanco_replies_total", "blanco_first_response_seconds_bucket"} <= worker_series()
    assert "blanco_touches_sent_total" in worker_series()
    assert {"blanco_http_requests_total", "blanco_leads_accepted_total"} <= api_series()


def test_every_metric_the_dashboard_queries_exists_in_the_code() -> None:
    known = worker_series() | api_series()
    for query in dashboard_queries():
        named = metrics_named(query)
        assert named, f"no metric in {query!r}"
        assert named <= known, f"{sorted(named - known)} (in {query!r}) is no series of the code"


@pytest.mark.parametrize(
    "wanted",
    [
        "blanco_first_response_seconds_bucket",  # speed to lead
        "blanco_replies_total",
        "blanco_lead_outcomes_total",
        "blanco_http_requests_total",
    ],
)
def test_the_dashboard_shows_the_live_series_of_the_issue(wanted: str) -> None:
    assert any(wanted in metrics_named(query) for query in dashboard_queries())


def test_the_dashboard_shows_outcomes_by_kind_and_api_errors() -> None:
    queries = dashboard_queries()
    assert any(
        "blanco_lead_outcomes_total" in q and re.search(r"by \([^)]*\bkind\b", q) for q in queries
    )
    assert any("blanco_http_requests_total" in q and 'status=~"5..' in q for q in queries)

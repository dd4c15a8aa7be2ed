#!/usr/bin/env python3
"""docker compose cannot run here; check what can be checked without it:
docker-compose.yml parses, names only AUTHD_* settings that exist (those of
.env.example), and the scaled profile has what it promises."""
import pathlib, re, sys

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
compose = yaml.safe_load((root / "docker-compose.yml").read_text())
known = set(re.findall(r"^(AUTHD_[A-Z_]+)=", (root / ".env.example").read_text(), re.M))
problems = []
services = compose.get("services", {})
for name, service in services.items():
    env = service.get("environment", {}) or {}
    keys = env.keys() if isinstance(env, dict) else [e.split("=", 1)[0] for e in env]
    for key in keys:
        if key.startswith("AUTHD_") and key not in known:
            problems.append(f"{name}: {key} is not a setting")
    for volume in service.get("volumes", []) or []:
        source = volume.split(":", 1)[0]
        if source.startswith("./") and not (root / source).exists():
            problems.append(f"{name}: mounts missing {source}")
default = [n for n, s in services.items() if not s.get("profiles")]
scaled = [n for n, s in services.items() if "scaled" in (s.get("profiles") or [])]
if sorted(default) != ["authd", "mailpit", "redis"]:
    problems.append(f"default profile is {default}, expected redis + authd + mailpit")
if not {"postgres", "lb", "authd-scaled"} <= set(scaled):
    problems.append(f"scaled profile is {scaled}")
if services.get("authd-scaled", {}).get("deploy", {}).get("replicas") != 3:
    problems.append("authd-scaled should run 3 replicas")
if "sqlite" not in str(services.get("authd", {}).get("environment", {}).get("AUTHD_DATABASE_URL")):
    problems.append("default authd should use SQLite")
for name, service in services.items():
    env = service.get("environment", {}) or {}
    if isinstance(env, dict) and env.get("AUTHD_ENV") == "production":
        # authd refuses to start in production without these.
        if not str(env.get("AUTHD_PUBLIC_URL", "")).startswith("https://"):
            problems.append(f"{name}: production needs an https:// AUTHD_PUBLIC_URL")
        for needed in ["AUTHD_SMTP_URL", "AUTHD_JWT_PRIVATE_KEY_FILE"]:
            if not env.get(needed):
                problems.append(f"{name}: production needs {needed}")
nginx = (root / "deploy" / "nginx.conf").read_text()
for upstream in re.findall(r"^\s*server\s+([\w.-]+):\d+", nginx, re.M):
    if upstream not in services:
        problems.append(f"deploy/nginx.conf: upstream {upstream} is not a service")
if problems:
    print("docker-compose.yml:", *problems, sep="\n  ")
    sys.exit(1)
print(f"docker-compose.yml: {len(services)} services, settings known, profiles as documented")

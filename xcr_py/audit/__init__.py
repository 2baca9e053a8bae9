"""Pipeline audit: how XCR accounts for each stage of a declared render stack.

Public API::

    report = audit_pipeline(load_pipeline("pipeline.toml"))
    report.stages[0].accounting    # "measured (NVML energy counter)", ..., "not covered"
    report.shares                  # {"measured": 0.8, "estimated": 0.2, "not covered": 0}
    report.to_dict()               # what ``xcr audit --json`` prints

See ``docs/audit.md``.
"""

from xcr_py.audit.classify import BUCKETS, AuditReport, Bucket, StageAudit, audit_pipeline
from xcr_py.audit.inventory import (
    CloudStage,
    CpuStage,
    GpuSpec,
    Pipeline,
    PipelineInfo,
    SelfHostedStage,
    load_pipeline,
    parse_pipeline,
)

__all__ = [
    "BUCKETS",
    "AuditReport",
    "Bucket",
    "CloudStage",
    "CpuStage",
    "GpuSpec",
    "Pipeline",
    "PipelineInfo",
    "SelfHostedStage",
    "StageAudit",
    "audit_pipeline",
    "load_pipeline",
    "parse_pipeline",
]

"""The eight ENA/EGA object types a submission holds, and where each one's schema is.

The XSDs are ENA's published schema set (``schemas/ena/``, see ``SOURCE.md`` there); each
type's JSON Schema (``schemas/json/<type>.json``) is generated from its XSD by
:mod:`chalicelib.submissions.json_schemas`, so both describe the same object.

An object's JSON form is the XSD decoding of its XML element (``<SAMPLE>``) by xmlschema's
default converter: child elements by their XML names, attributes as ``@name``, an element's
text as ``$`` when it also has attributes, a list wherever the XSD allows more than one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """An element of an object that names another object (by ``@accession`` or by
    ``@refname``, the other object's alias), at ``path`` from the object's element."""

    path: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class ObjectType:
    name: str  # the route's {schema}: "study"
    xsd: str  # file name under schemas/ena/
    set_element: str  # the root of a submitted file: "STUDY_SET"
    element: str  # one object: "STUDY"
    code: str  # in the accession ids the catalogue issues: CAT-STU-...
    title: tuple[str, ...]  # where the title is, from the object's element
    references: tuple[Reference, ...] = ()
    # published objects of this type become catalogue datasets (searchable)
    in_catalogue: bool = False


TYPES: dict[str, ObjectType] = {
    t.name: t
    for t in (
        ObjectType("study", "SRA.study.xsd", "STUDY_SET", "STUDY", "STU", ("DESCRIPTOR", "STUDY_TITLE"), (), True),
        ObjectType("sample", "SRA.sample.xsd", "SAMPLE_SET", "SAMPLE", "SAM", ("TITLE",), (), True),
        ObjectType(
            "experiment",
            "SRA.experiment.xsd",
            "EXPERIMENT_SET",
            "EXPERIMENT",
            "EXP",
            ("TITLE",),
            (Reference(("STUDY_REF",), "study"), Reference(("DESIGN", "SAMPLE_DESCRIPTOR"), "sample")),
        ),
        ObjectType(
            "run", "SRA.run.xsd", "RUN_SET", "RUN", "RUN", ("TITLE",), (Reference(("EXPERIMENT_REF",), "experiment"),)
        ),
        ObjectType(
            "analysis",
            "SRA.analysis.xsd",
            "ANALYSIS_SET",
            "ANALYSIS",
            "ANA",
            ("TITLE",),
            (
                Reference(("STUDY_REF",), "study"),
                Reference(("SAMPLE_REF",), "sample"),
                Reference(("EXPERIMENT_REF",), "experiment"),
                Reference(("RUN_REF",), "run"),
                Reference(("ANALYSIS_REF",), "analysis"),
            ),
        ),
        ObjectType("dac", "EGA.dac.xsd", "DAC_SET", "DAC", "DAC", ("TITLE",)),
        ObjectType(
            "policy", "EGA.policy.xsd", "POLICY_SET", "POLICY", "POL", ("TITLE",), (Reference(("DAC_REF",), "dac"),)
        ),
        ObjectType(
            "dataset",
            "EGA.dataset.xsd",
            "DATASETS",
            "DATASET",
            "DAT",
            ("TITLE",),
            (
                Reference(("RUN_REF",), "run"),
                Reference(("ANALYSIS_REF",), "analysis"),
                Reference(("POLICY_REF",), "policy"),
            ),
            True,
        ),
    )
}
BY_CODE = {t.code: t for t in TYPES.values()}
BY_SET_ELEMENT = {t.set_element: t for t in TYPES.values()}

"""The licence option: the LICENSE text, package.json's `license` and the image's licence label
follow the answer; an answer outside the choices is refused naming the field. And the template's
own licence (with the .editorconfig it and every project carry). The label of the image CI
publishes: test_github_workflow.py, test_gitlab_ci.py."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
from cookiecutter.exceptions import FailedHookException

from support.bake import TEMPLATE_DIR, bake
from variants import OPTIONS

LICENSE_MARKERS = {
    "MIT": ("MIT License", "Permission is hereby granted, free of charge", "MIT"),
    "Apache-2.0": ("Apache License", "END OF TERMS AND CONDITIONS", "Apache-2.0"),
    "BSD-3-Clause": ("BSD 3-Clause License", "Neither the name of the copyright holder", "BSD-3-Clause"),
    "proprietary": ("Copyright (c)", "All rights reserved.", "UNLICENSED"),
}


@pytest.mark.parametrize("license_choice", OPTIONS["license"])
def test_license_option_writes_license_and_package_json(bake_cached, license_choice):
    assert set(OPTIONS["license"]) == set(LICENSE_MARKERS)
    project = bake_cached(license=license_choice, author_name="Ada O'Neil")
    text = (project / "LICENSE").read_text(encoding="utf-8")
    first_line, body, package_license = LICENSE_MARKERS[license_choice]
    assert text.startswith(first_line) and body in text and text.endswith("\n") and not text.endswith("\n\n")
    if license_choice != "Apache-2.0":  # Apache's text names no holder; its appendix says how to
        assert re.search(r"Copyright \(c\) 20\d\d,? Ada O'Neil", text)
    for other, (_, other_body, _) in LICENSE_MARKERS.items():
        if other != license_choice:
            assert other_body not in text, other
    package = json.loads((project / "package.json").read_text(encoding="utf-8"))
    assert package["license"] == package_license


def test_unknown_license_is_refused_naming_the_field(tmp_path):
    # cookiecutter refuses a choice it does not list before anything is written...
    with pytest.raises((ValueError, FailedHookException), match="license"):
        bake(tmp_path, license="GPL-2.0")
    assert not any(tmp_path.iterdir())
    # ...and so does the pre-gen hook (it sees answers cookiecutter did not check, e.g. from a replay).
    spec = importlib.util.spec_from_file_location("pre_gen_project", TEMPLATE_DIR / "hooks/pre_gen_project.py")
    pre_gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pre_gen)
    answers = {**pre_gen_defaults(), "license": "GPL-2.0"}
    assert [e for e in pre_gen.collect_errors(answers) if e.startswith("license:")], pre_gen.collect_errors(answers)


def pre_gen_defaults() -> dict:
    """Valid answers for every field, from cookiecutter.json."""
    config = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    answers = {key: value[0] if isinstance(value, list) else value for key, value in config.items()}
    return {**answers, "project_slug": "my-mcp-server"}


SPDX_LABEL = {
    "MIT": "MIT",
    "Apache-2.0": "Apache-2.0",
    "BSD-3-Clause": "BSD-3-Clause",
    "proprietary": "LicenseRef-Proprietary",
}


@pytest.mark.parametrize("license_choice", OPTIONS["license"])
def test_image_licenses_label_follows_the_answer(bake_cached, license_choice):
    project = bake_cached(license=license_choice)
    dockerfile = (project / "Dockerfile.production").read_text(encoding="utf-8")
    labels = re.findall(r'org\.opencontainers\.image\.licenses="([^"]*)"', dockerfile)
    assert labels == [SPDX_LABEL[license_choice]], "Dockerfile.production must label the image with the licence"


# --- the template's own licence, and the editor settings beside it --------------------------------


def test_template_and_project_have_license_and_editorconfig(delivery_project):
    assert (TEMPLATE_DIR / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    for folder in (TEMPLATE_DIR, delivery_project("defaults")):
        editorconfig = (folder / ".editorconfig").read_text(encoding="utf-8")
        assert "root = true" in editorconfig and "end_of_line = lf" in editorconfig, folder

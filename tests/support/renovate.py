"""A port of the parts of Renovate that decide what renovate.json sees and whether an update can
be written back.

What it reproduces (Renovate's sources, by file): the custom regex manager
(lib/modules/manager/custom/regex: managerFilePatterns as /regex/, matchStrings compiled with the
`g` flag only, the `any` strategy, depNameTemplate and datasourceTemplate), the dockerfile
manager (lib/modules/manager/dockerfile/extract.ts: FROM images with ARG defaults substituted one
level, stage names skipped, `skipReason: contains-variable` for what stays a variable, the
replaceString and autoReplaceStringTemplate it records), and the branch worker's auto-replace
(lib/workers/repository/update/branch/auto-replace.ts: render the template, write it at each
occurrence of replaceString, re-extract and keep the first candidate whose value and digest
are the new ones, else fail the branch). Handlebars only as far as those templates use it.

Why a port: Renovate runs against a hosted repository and its registries (GitHub, Docker Hub,
npm), and GitHub is unreachable from where these tests run, so the real bot cannot be pointed at
a rendered project here. The tests use the port to prove that every base image the Dockerfiles
declare is seen by exactly one manager and that its pin, digest refresh and new tag can be
written into the ARG line (test_dependency_updates.py; its
test_renovate_model_on_the_arg_shapes_the_dockerfiles_use pins the port on known shapes).
"""

from __future__ import annotations

import re


def js_to_python_regex(pattern: str) -> re.Pattern[str]:
    """Renovate's regexes are JavaScript's: (?<name>...) is Python's (?P<name>...)."""
    return re.compile(re.sub(r"\(\?<(?![=!])", "(?P<", pattern))


def renovate_matches(config: dict, relative: str, text: str) -> list[dict]:
    """What Renovate's custom regex managers extract from one file (managerFilePatterns are /regex/).

    Renovate compiles matchStrings with the `g` flag only: `^` and `$` are the file's ends."""
    found = []
    for manager in config["customManagers"]:
        patterns = [js_to_python_regex(p.strip("/")) for p in manager["managerFilePatterns"]]
        if not any(p.search(relative) for p in patterns):
            continue
        assert manager.get("matchStringsStrategy", "any") == "any", "only the `any` strategy is modelled here"
        for match_string in manager["matchStrings"]:
            for match in js_to_python_regex(match_string).finditer(text):
                groups = {k: v for k, v in match.groupdict().items() if v is not None}
                groups.setdefault("depName", manager.get("depNameTemplate"))
                groups["datasource"] = manager.get("datasourceTemplate")
                found.append(groups)
    return found


DOCKERFILE_ARG = re.compile(r"^[ \t]*ARG(?:\\[ \t]*\r?\n| |\t|#.*?\r?\n)+(?P<name>\w+)[ =](?P<value>\S*)", re.I | re.M)
DOCKERFILE_FROM = re.compile(
    r"^[ \t]*FROM(?:\\[ \t]*\r?\n| |\t|#.*?\r?\n|--platform=\S+)+(?P<image>\S+)"
    r"(?:(?:\\[ \t]*\r?\n| |\t|#.*?\r?\n)+as[ \t]+(?P<name>\S+))?",
    re.I | re.M,
)
DOCKERFILE_VARIABLE = re.compile(r"(?P<full>\\?\$(?P<simple>\w+)|\\?\$\{(?P<complex>\w+)(?::.+?)?\}+)", re.I)
CONTINUED = re.compile(r"\\[ \t]*$|^[ \t]*#", re.M)


def _split_image(image: str) -> dict:
    if "$" in image:
        default = re.fullmatch(r"\$\{.+?:-\"?(?P<value>.*?)\"?\}", image)
        if default:
            image = default["value"]
        if "$" in image:
            return {"skipReason": "contains-variable"}
    tag_part, _, digest = image.partition("@")
    parts = tag_part.split(":")
    if len(parts) == 1 or "/" in parts[-1]:
        dep = {"depName": tag_part}
    else:
        dep = {"depName": ":".join(parts[:-1]), "currentValue": parts[-1]}
    if digest:
        dep["currentDigest"] = digest
    return dep


def _auto_replace_template(dep: dict) -> str:
    template = dep["replaceString"]
    if dep.get("currentValue"):
        placeholder = "{{#if newValue}}{{newValue}}{{/if}}"
        if not dep.get("currentDigest"):
            placeholder += "{{#if newDigest}}@{{newDigest}}{{/if}}"
        template = template.replace(dep["currentValue"], placeholder, 1)
    if dep.get("currentDigest"):
        template = template.replace(dep["currentDigest"], "{{#if newDigest}}{{newDigest}}{{/if}}", 1)
    return template


def renovate_dockerfile_deps(text: str) -> list[dict]:
    """Renovate's dockerfile manager: FROM images, with ARG defaults substituted (one level)."""
    lines = text.split("\n")
    deps, stages, args, arg_lines = [], [], {}, {}
    number = 0
    while number < len(lines):
        start, instruction, lookahead = number, lines[number], lines[number]
        while not instruction.lstrip().startswith("#") and CONTINUED.search(lookahead):
            number += 1
            lookahead = lines[number] if number < len(lines) else ""
            instruction += "\n" + lookahead
        arg = DOCKERFILE_ARG.search(instruction)
        if arg:
            arg_lines[arg["name"]] = (start, number)
            args[arg["name"]] = arg["value"].strip("\"'")
        source = DOCKERFILE_FROM.search(instruction)
        if source:
            image, ranges = source["image"], [(start, number)]
            if "$" in image:
                for match in list(DOCKERFILE_VARIABLE.finditer(image)):
                    name = match["simple"] or match["complex"]
                    if name in args:
                        image = image.replace(match["full"], args[name])
                        ranges.append(arg_lines[name])
            if source["name"]:
                stages.append(source["name"])
            if image != "scratch" and image not in stages:
                dep = {**_split_image(image), "datasource": "docker", "replaceString": image}
                dep["autoReplaceStringTemplate"] = (
                    "{{depName}}{{#if newValue}}:{{newValue}}{{/if}}{{#if newDigest}}@{{newDigest}}{{/if}}"
                )
                wanted = [
                    r
                    for r in ranges
                    for line in range(r[0], r[1] + 1)
                    if (dep.get("currentValue") and dep["currentValue"] in lines[line])
                    or (dep.get("currentDigest") and dep["currentDigest"] in lines[line])
                ]
                if len(ranges) > 1 and wanted:
                    first, last = min(r[0] for r in wanted), max(r[1] for r in wanted)
                    dep["replaceString"] = "\n".join(lines[first : last + 1]) + (
                        "" if dep.get("currentDigest") else "\n"
                    )
                    dep["autoReplaceStringTemplate"] = _auto_replace_template(dep)
                deps.append(dep)
        number += 1
    return deps


def handlebars(template: str, values: dict) -> str:
    """The subset of Handlebars the templates above use: {{x}}, {{{x}}}, {{#if x}}...{{/if}}."""
    text = re.sub(
        r"\{\{#if (\w+)\}\}(.*?)\{\{/if\}\}", lambda m: m[2] if values.get(m[1]) else "", template, flags=re.S
    )
    text = re.sub(r"\{\{\{?(\w+)\}?\}\}", lambda m: str(values.get(m[1]) or ""), text)
    assert "{{" not in text, f"unsupported Handlebars in {template!r}"
    return text


def renovate_docker_deps(config: dict, relative: str, text: str) -> list[dict]:
    """Every docker-datasource dependency the managers renovate.json enables find in a Dockerfile."""
    deps = []
    if "dockerfile" in config["enabledManagers"]:
        deps += [dep for dep in renovate_dockerfile_deps(text) if "skipReason" not in dep]
    if "custom.regex" in config["enabledManagers"]:
        for manager in config["customManagers"]:
            if manager.get("datasourceTemplate") != "docker":
                continue
            one = {**config, "customManagers": [manager]}
            for groups in renovate_matches(one, relative, text):
                (match,) = [
                    m
                    for s in manager["matchStrings"]
                    for m in js_to_python_regex(s).finditer(text)
                    if m.groupdict().get("depName") == groups["depName"]
                    and m.groupdict().get("currentValue") == groups.get("currentValue")
                ]
                template = manager.get("autoReplaceStringTemplate")
                deps.append({**groups, "replaceString": match[0], "autoReplaceStringTemplate": template})
    return deps


def renovate_write_update(config: dict, relative: str, text: str, index: int, new_value: str, new_digest: str) -> str:
    """Renovate's doAutoReplace for deps[index]: the new file, or AssertionError where Renovate's own
    check (re-extract, compare value and digest) would fail the branch ("update failure")."""
    dep = renovate_docker_deps(config, relative, text)[index]
    upgrade = {**dep, "newValue": new_value, "newDigest": new_digest}
    if dep.get("autoReplaceStringTemplate"):
        replacement = handlebars(dep["autoReplaceStringTemplate"], upgrade)
    else:
        replacement = dep["replaceString"]
        if dep.get("currentValue"):
            replacement = replacement.replace(dep["currentValue"], new_value)
        if dep.get("currentDigest"):
            replacement = replacement.replace(dep["currentDigest"], new_digest)
    position = text.index(dep["replaceString"])
    while position != -1:
        candidate = text[:position] + replacement + text[position + len(dep["replaceString"]) :]
        after = renovate_docker_deps(config, relative, candidate)
        found = after[index] if len(after) > index else {}
        if (found.get("currentValue"), found.get("currentDigest")) == (new_value, new_digest):
            return candidate
        position = text.find(dep["replaceString"], position + 1)
    raise AssertionError(f"Renovate could not write {new_value}@{new_digest} for {dep['depName']} in {relative}")

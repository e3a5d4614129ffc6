# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which certificates a PKI certificate filter selects. FOR INTERNAL COLLECTION USE ONLY.

One rule, used by the planner (option checks, the check-mode plan and the verification of
win_sccm_client_generalize) and by the simulated lab; the PowerShell of ``cert.remove`` and
``guard.assert_certificate_filter`` (``Test-FieldkitCertificateMatch`` in ``_FieldkitImageOps.psm1``) implements the same
rule:

* ``thumbprints``: the SHA-1 thumbprint is one of them (case-insensitive);
* ``issuer``: with an ``=`` it is a distinguished name and matches when the certificate's issuer DN has
  exactly the same attributes: the same set of ``type=value`` pairs, in any order, attribute types and
  values compared case-insensitively with runs of white space collapsed (``ST`` is ``S``, ``EMAIL`` and
  ``EMAILADDRESS`` are ``E``, as Windows writes them). Without an ``=`` it is a common name and matches
  when a ``CN`` of the issuer is exactly that name (same comparison). Never a substring;
* ``template``: a dotted OID matches the template OID of the certificate template information extension
  (1.3.6.1.4.1.311.21.7, v2 templates; the only template information an offline machine can show),
  anything else matches the template name exactly, case-insensitively (the v1 template name extension
  1.3.6.1.4.1.311.20.2, or the name Windows resolves for a v2 template OID);
* with ``require_client_auth`` the certificate has the Client Authentication EKU.

A certificate matches when every criterion given holds. A filter without thumbprints that matches more
than one certificate is refused unless the caller allows several explicitly (:func:`ambiguous`).

The distinguished names are the ones ``X509Certificate2.Issuer`` returns on Windows
(``CN=Contoso Issuing CA 01, DC=contoso, DC=local``): RDNs separated by ``,`` (or ``;``), the values of a
multi-valued RDN by ``+``, a value that holds one of these characters in double quotes with ``""`` for a
quote; a backslash escapes the next character (RFC 4514 spelling).
"""
from __future__ import annotations

import re
import typing as t

from ._host_contract import CLIENT_AUTH_EKU

_OID_RE = re.compile(r"^[0-2](?:\.[0-9]+)+$")
_ATTRIBUTE_TYPE_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-2](?:\.[0-9]+)+)$")
_WHITESPACE_RE = re.compile(r"\s+")
# Attribute type spellings that mean the same attribute; the right-hand side is how Windows writes it.
ATTRIBUTE_TYPE_ALIASES = {"ST": "S", "EMAIL": "E", "EMAILADDRESS": "E"}


class DistinguishedNameError(ValueError):
    """Text that is not a distinguished name; the message says where."""


def is_oid(text: str) -> bool:
    """A dotted object identifier such as 1.3.6.1.4.1.311.21.8.1.2."""
    return bool(_OID_RE.match(text.strip()))


def _normal_value(value: str) -> str:
    return _WHITESPACE_RE.sub(" ", value).strip().lower()


def parse_dn(text: str) -> list[tuple[str, str]]:
    """``[(TYPE, value), ...]`` of a distinguished name, in the order written; raises DistinguishedNameError."""
    pairs: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        equals = text.find("=", i)
        if equals < 0:
            raise DistinguishedNameError(f"attribute {len(pairs) + 1} has no '=' (type=value)")
        attribute = text[i:equals].strip()
        if not _ATTRIBUTE_TYPE_RE.match(attribute):
            raise DistinguishedNameError(f"attribute {len(pairs) + 1} has no valid type before '=' "
                                         f"(got {attribute!r})")
        i = equals + 1
        while i < n and text[i] == " ":
            i += 1
        value_chars: list[str] = []
        if i < n and text[i] == '"':
            i += 1
            while True:
                if i >= n:
                    raise DistinguishedNameError(f"attribute {len(pairs) + 1} ({attribute}) has an unclosed quote")
                if text[i] == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        value_chars.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                value_chars.append(text[i])
                i += 1
            while i < n and text[i] == " ":
                i += 1
            if i < n and text[i] not in ",;+":
                raise DistinguishedNameError(f"attribute {len(pairs) + 1} ({attribute}) has text after its quoted "
                                             "value")
        else:
            while i < n and text[i] not in ",;+":
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                value_chars.append(text[i])
                i += 1
        value = _normal_value("".join(value_chars))
        if not value:
            raise DistinguishedNameError(f"attribute {len(pairs) + 1} ({attribute}=) has an empty value")
        kind = attribute.upper()
        pairs.append((ATTRIBUTE_TYPE_ALIASES.get(kind, kind), value))
        if i >= n:
            return pairs
        i += 1  # the separator


def normal_dn(text: str) -> list[tuple[str, str]]:
    """The comparable form of a DN: its (TYPE, value) pairs sorted; raises DistinguishedNameError."""
    return sorted(parse_dn(text))


def issuer_problem(value: str) -> str | None:
    """Why ``value`` cannot be an issuer criterion, or None when it can."""
    text = value.strip()
    if not text:
        return "it is empty"
    if "=" in text:
        try:
            parse_dn(text)
        except DistinguishedNameError as err:
            return f"it is not a distinguished name: {err}"
    return None


def template_problem(value: str) -> str | None:
    """Why ``value`` cannot be a template criterion, or None when it can."""
    return "it is empty" if not value.strip() else None


def issuer_matches(wanted: str, issuer: str | None) -> bool:
    """The issuer rule (see the module docstring)."""
    if not issuer:
        return False
    try:
        pairs = parse_dn(issuer)
    except DistinguishedNameError:
        return False
    if "=" in wanted:
        try:
            return normal_dn(wanted) == sorted(pairs)
        except DistinguishedNameError:
            return False
    name = _normal_value(wanted)
    return bool(name) and any(kind == "CN" and value == name for kind, value in pairs)


def template_matches(wanted: str, template_name: str | None, template_oid: str | None) -> bool:
    """The template rule (see the module docstring)."""
    text = wanted.strip()
    if not text:
        return False
    if is_oid(text):
        return bool(template_oid) and str(template_oid).strip() == text
    return bool(template_name) and str(template_name).strip().lower() == text.lower()


def certificate_matches(cert: dict[str, t.Any], *, thumbprints: t.Sequence[str] | None = None,
                        issuer: str | None = None, template: str | None = None,
                        require_client_auth: bool = True) -> bool:
    """Whether one certificate (as ``cert.list`` returns it) matches every criterion given.

    A filter without any criterion matches nothing: removing every certificate of a store is never
    done through a filter.
    """
    if not (thumbprints or issuer or template):
        return False
    if thumbprints and str(cert.get("thumbprint") or "").upper() not in {tp.upper() for tp in thumbprints}:
        return False
    if issuer and not issuer_matches(issuer, cert.get("issuer")):
        return False
    if template and not template_matches(template, cert.get("template_name"), cert.get("template_oid")):
        return False
    if require_client_auth and CLIENT_AUTH_EKU not in (cert.get("enhanced_key_usages") or []):
        return False
    return True


def ambiguous(match_count: int, thumbprints: t.Sequence[str] | None, allow_multiple: bool) -> bool:
    """A filter without thumbprints may remove one certificate at most unless several are allowed."""
    return match_count > 1 and not thumbprints and not allow_multiple


def template_label(cert: dict[str, t.Any]) -> str | None:
    """The template as shown in results: its name, else its OID."""
    return cert.get("template_name") or cert.get("template_oid") or None

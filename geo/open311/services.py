"""The Open311 services: one per incident category the public may report, Chinese name first."""

from __future__ import annotations

from geo import vocab

# Crimes (preventable, property) go to the police by their own channels, not to a 311 app.
PUBLIC_SERVICES = ("dispute", "hazard", "service", "other")
_DESCRIPTIONS = {
    "dispute": "邻里、物业、家庭等矛盾纠纷 Disputes between neighbours, with property managers, in families",
    "hazard": "消防、燃气、房屋、道路等安全隐患 Fire, gas, building, road and other safety hazards",
    "service": "公共服务与民生诉求 Requests about public services",
    "other": "其他问题 Anything else",
}


def service_list() -> list[dict]:
    """services.json: service_code, service_name, description, metadata, type, keywords, group."""
    out = []
    for code in PUBLIC_SERVICES:
        zh, en = vocab.INCIDENT_CATEGORIES[code]
        out.append(
            {
                "service_code": code,
                "service_name": f"{zh} {en}",
                "description": _DESCRIPTIONS[code],
                "metadata": False,
                "type": "realtime",
                "keywords": f"{zh},{en.lower()}",
                "group": "市域社会治理 Social governance",
            }
        )
    return out

"""Synthetic people for the demo: Chinese names and masked phone numbers, deterministic from a generator."""

from __future__ import annotations

import numpy as np

# The commonest surnames, most frequent first (with rough weights), and characters for given names.
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文辉志红玲斌鹏飞浩宇晨欣怡"
    "子涵梓萱雨轩博文俊杰海燕春梅秋菊玉兰德胜永福宏亮振华晓东小龙丹阳佳琪思远嘉怡"
)


def names(rng: np.random.Generator, n: int) -> list[str]:
    """n plausible full names (surname + one or two given-name characters)."""
    k = len(_SURNAMES)
    weights = 1.0 / np.arange(1, k + 1) ** 0.9
    sur = rng.choice(k, n, p=weights / weights.sum())
    two = rng.random(n) < 0.7
    g1 = rng.integers(0, len(_GIVEN), n)
    g2 = rng.integers(0, len(_GIVEN), n)
    return [
        _SURNAMES[s] + _GIVEN[a] + (_GIVEN[b] if t else "") for s, a, b, t in zip(sur, g1, g2, two, strict=True)
    ]


def masked_phones(rng: np.random.Generator, n: int) -> list[str]:
    """n mobile numbers shown the way Chinese public notices mask them (139****0421): never a real number."""
    head = rng.choice(["133", "135", "137", "138", "139", "150", "153", "158", "177", "180", "189"], n)
    tail = rng.integers(0, 10_000, n)
    return [f"{h}****{t:04d}" for h, t in zip(head, tail, strict=True)]


def short_name(name: str) -> str:
    """The everyday name of a village/community: 召光村委会 → 召光村, 东街社区居民委员会 → 东街社区."""
    for suffix, repl in (
        ("村村民委员会", "村"),
        ("村民委员会", "村"),
        ("村委会", "村"),
        ("社区居民委员会", "社区"),
        ("社区居委会", "社区"),
        ("居民委员会", "社区"),
        ("居委会", "社区"),
    ):
        if name.endswith(suffix):
            return name[: -len(suffix)] + repl
    return name

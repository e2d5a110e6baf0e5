"""Display names for the synthetic world: creators' nicknames and notes' titles, in Chinese as
on the platform. Derived from the index alone (no random draws), so adding them changed no other
byte of a generated landing zone."""

from __future__ import annotations

import numpy as np

_NICK_HEAD = (
    "小鹿",
    "阿柒",
    "橙子",
    "果果",
    "一只",
    "桃桃",
    "大熊",
    "豆豆",
    "七七",
    "糖糖",
    "阿南",
    "小满",
    "十一",
    "柚子",
    "阿朵",
    "米粒",
    "小北",
    "安安",
    "芒果",
    "阿狸",
)
_NICK_TAIL = (
    "的日常",
    "爱分享",
    "种草记",
    "生活志",
    "研究站",
    "小本本",
    "在路上",
    "慢生活",
    "的宝藏",
    "实验室",
    "碎碎念",
    "好物社",
    "观察室",
    "手记",
    "不将就",
    "的口袋",
)

_TOPICS = {
    "beauty": ("通勤妆容", "敏感肌护肤", "夏日防晒", "口红试色", "底妆持妆", "平价面霜"),
    "fashion": ("一周穿搭", "通勤西装", "小个子显高", "秋冬叠穿", "运动风搭配", "百搭白T"),
    "food": ("早餐灵感", "下午茶", "零食测评", "咖啡豆", "低卡代餐", "火锅底料"),
    "baby": ("待产包清单", "辅食添加", "宝宝洗护", "婴儿推车", "早教玩具", "纸尿裤对比"),
    "home": ("小户型收纳", "卧室改造", "厨房好物", "香薰蜡烛", "床品推荐", "清洁神器"),
    "outdoor": ("露营装备", "徒步鞋", "骑行入门", "跑步装备", "飞盘", "登山背包"),
    "digital": ("降噪耳机", "平板学习", "桌面改造", "扫地机器人", "相机入门", "充电宝"),
    "pets": ("猫粮测评", "狗狗零食", "猫砂对比", "宠物玩具", "驱虫攻略", "新手养猫"),
}
_ANGLES = ("真实测评", "新手必看", "回购理由", "避坑指南", "一周体验", "清单分享", "对比实测")


def creator_names(idx: np.ndarray) -> np.ndarray:
    idx = np.asarray(idx, dtype=np.int64)
    heads, tails = len(_NICK_HEAD), len(_NICK_TAIL)
    rounds = idx // (heads * tails)
    return np.array(
        [
            _NICK_HEAD[i % heads] + _NICK_TAIL[(i // heads) % tails] + (str(r + 1) if r else "")
            for i, r in zip(idx.tolist(), rounds.tolist())
        ],
        dtype=object,
    )


def note_titles(idx: np.ndarray, categories: np.ndarray) -> np.ndarray:
    out = []
    for i, cat in zip(np.asarray(idx, dtype=np.int64).tolist(), categories):
        topics = _TOPICS.get(str(cat), ("好物分享",))
        out.append(f"{topics[i % len(topics)]}｜{_ANGLES[(i // len(topics)) % len(_ANGLES)]}")
    return np.array(out, dtype=object)

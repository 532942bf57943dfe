"""A tiny hand-written corpus of fraud and normal texts, and a model trained on it in a second.

Written for fanzha's tests (not taken from any data set): enough for a model to separate the
scripts below, nothing more. Tests that measure quality read ../shared/data instead.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import random
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa

from fanzha.testing import START, Pools, as_log, random_events
from scenario import report, table

CORPUS: dict[str, list[str]] = {
    "冒充客服服务": [
        "您好，我是快递客服，您的包裹丢失了，我们给您双倍理赔，请加客服微信办理退款",
        "您好，这里是淘宝客服，您购买的商品质量有问题，需要给您退款，请下载会议软件操作",
        "我是京东客服，您开通了金条服务，不关闭会影响征信，请按我的指示操作退款",
        "您的快递在运输中损坏，客服将为您理赔，请提供银行卡号和验证码",
        "您好，抖音客服通知您误开通了会员，每月自动扣费，需要退款请配合操作",
        "客服提醒：您的订单异常，请点击链接申请退款，并输入银行卡密码",
    ],
    "冒充公检法及政府机关类": [
        "我是公安局民警，你的身份证涉嫌洗钱案件，需要把资金转到安全账户配合调查",
        "这里是检察院，你涉嫌一起诈骗案，现在对你进行资金审查，不要告诉任何人",
        "我是派出所警官，你的银行卡被用于非法活动，请立即配合我们冻结资金",
        "医保局通知：您的医保卡异常，将被冻结，请联系工作人员核实身份并转账",
        "您好，我是法院工作人员，您有一张传票未领取，请按提示缴纳保证金",
        "公安局通知你名下账户涉案，需要将存款转入国家安全账户接受清查",
    ],
    "贷款、代办信用卡类": [
        "无抵押低息贷款，当天放款，先交手续费即可办理，额度高达二十万",
        "可以帮你办理大额信用卡，不看征信，需先缴纳保证金和验证流水",
        "您的贷款已审批，但账户填写错误被冻结，需要转账解冻才能放款",
        "急用钱吗？网贷秒到账，下载我们的借款平台，先充值刷流水",
        "代办信用卡，额度五万起，包下卡，收取办卡服务费",
        "您的贷款额度已提升，激活需要先交一笔会员费，放款后退还",
    ],
    "冒充领导、熟人类": [
        "我是你们王总，明天来我办公室一趟，先帮我转一笔款给客户",
        "小李，我是张局长，我在开会不方便接电话，你先帮我给这个账户打十万",
        "我是你表哥，换了新号码，现在急需用钱，你先转我五千，明天还你",
        "老同学，我在外地出了点事，手机丢了，借我三千块，转到这个卡上",
        "我是你们学校的老师，孩子在学校受伤了，需要马上交手术费",
        "我是董事长，这是我的新微信，财务那边马上给供应商付一笔货款",
    ],
    "0": [
        "明天下午三点开会，请准时参加",
        "周末超市大促销，全场八折，欢迎光临",
        "您的快递已放在小区门口的快递柜，取件码是三五七",
        "妈，我今天晚上加班，不回家吃饭了",
        "【某银行】您尾号1234的卡消费50元",
        "祝您生日快乐，身体健康，万事如意",
        "本周六学校组织家长会，请各位家长准时到校",
        "您好，您预约的体检时间是下周一上午八点",
        "新店开业，进店即送小礼品，欢迎品尝",
        "天气预报：明天有小雨，出门请带伞",
        "好的，我知道了，晚上见",
        "您的话费余额不足十元，请及时充值",
    ],
}

FRAUD_SMS = "您好，我是快递客服，您的包裹丢失，我们双倍理赔，请加客服微信办理退款"
NORMAL_SMS = "明天下午开会，请准时参加"


def corpus_rows() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for label, items in CORPUS.items():
        texts += items
        labels += [label] * len(items)
    return texts, labels


@functools.cache
def tiny_text_model() -> str:
    """Path of a model trained on CORPUS (trained once per test session, about a second)."""
    from fanzha.models.text import fraud_types_for, train

    texts, labels = corpus_rows()
    model = train(texts, labels, fraud_types_for(labels), folds=3)
    folder = tempfile.mkdtemp(prefix="fanzha-text-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = Path(folder) / "tiny.model"
    model.save(path)
    return str(path)


def text_log(seed: int = 1, n: int = 150) -> dict[str, pa.Table]:
    """Random SMS whose bodies are normal or fraud texts of the tiny corpus, and reports with
    texts: the conformance scenario of text_fraud."""
    rng = random.Random(seed)
    pools = Pools(rng, phones=40)
    m = random_events("sms", n, rng, pools=pools, span=dt.timedelta(days=3))
    bodies = [t for items in CORPUS.values() for t in items] + [None, ""]
    m = m.set_column(m.schema.get_field_index("text"), "text",
                     table("sms", [{"text": rng.choice(bodies)} for _ in range(n)])["text"])
    reps = []
    for i, label in enumerate(CORPUS):
        r = report(START + (i + 1) * dt.timedelta(hours=1), pools.phones[i], by="citizen", verdict="report",
                   fraud_type=None, reporter=pools.phones[i + 10])
        r["text"] = CORPUS[label][i]
        reps.append(r)
    return as_log({"sms": m, "report": table("report", reps)})

"""The console's words: Chinese first, English with ?lang=en (kept in a cookie)."""

from __future__ import annotations

LANGS = ("zh", "en")

# key: (中文, English)
STRINGS: dict[str, tuple[str, str]] = {
    "title": ("反诈中心工作台", "Anti-fraud centre console"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "api_key": ("API 密钥", "API key"),
    "login_help": (
        "用 fanzha keys add 生成的密钥登录（分析员、民警或市民应用）。",
        "Log in with a key made by fanzha keys add (analyst, police or citizen app).",
    ),
    "bad_key": ("密钥无效、已吊销或已过期", "Unknown, revoked or expired key"),
    "no_console": ("该角色不能使用工作台", "This role may not use the console"),
    "denied": ("无权访问", "Not allowed"),
    "denied_role": (
        "此页面仅限反诈中心分析员和民警",
        "This page is for centre analysts and police",
    ),
    "not_found": ("未找到", "Not found"),
    "alerts": ("预警队列", "Alert queue"),
    "citizen": ("一证通查", "Look up my ID"),
    "scorecard": ("仿真城市评分", "Scorecard"),
    "tier": ("等级", "Tier"),
    "tier_high": ("高", "High"),
    "tier_medium": ("中", "Medium"),
    "tier_low": ("低", "Low"),
    "status": ("状态", "Status"),
    "st_open": ("待处理", "open"),
    "st_assigned": ("已分派", "assigned"),
    "st_contacted": ("已联系", "contacted"),
    "st_escalated": ("已升级", "escalated"),
    "st_closed": ("已关闭", "closed"),
    "st_reopened": ("重新打开", "reopened"),
    "entity": ("对象", "Entity"),
    "fraud_type": ("诈骗类型", "Fraud type"),
    "score": ("分数", "Score"),
    "rule": ("规则", "Rule"),
    "evidence": ("证据", "Evidence"),
    "sla": ("处置时限", "SLA"),
    "left": ("剩余", "left"),
    "overdue": ("已超时", "overdue by"),
    "assignee": ("处置人", "Assignee"),
    "outcome": ("联系结果", "Contact outcome"),
    "history": ("处置记录", "History"),
    "assign": ("分派", "Assign"),
    "contact": ("记录联系结果", "Record contact"),
    "escalate": ("升级", "Escalate"),
    "close": ("关闭", "Close"),
    "reopen": ("重新打开", "Reopen"),
    "note": ("备注", "Note"),
    "submit": ("提交", "Submit"),
    "total": ("共", "Total"),
    "more": ("下一页", "Next page"),
    "none": ("无", "None"),
    "victim_paid": ("受害人支付", "Victims paid"),
    "remaining": ("尚在账户", "Still held"),
    "freeze_orders": ("止付冻结", "Freeze orders"),
    "money_flow": ("资金流向", "Money flow"),
    "account": ("账户", "Account"),
    "bank": ("银行", "Bank"),
    "amount": ("金额", "Amount"),
    "level": ("层级", "Level"),
    "delivery": ("送达", "Delivery"),
    "victims": ("受害人数", "Victims"),
    "expires": ("到期", "Expires"),
    "id_number": ("身份证号", "ID number"),
    "phone": ("手机号", "Phone"),
    "send_code": ("获取验证码", "Send code"),
    "code": ("验证码", "Code"),
    "code_sent": (
        "如该手机号登记在此身份证下，验证码已发送至",
        "If this phone is registered to the ID, a code was sent to",
    ),
    "verify": ("验证", "Verify"),
    "holdings": ("名下卡号与账户", "Cards and accounts under the ID"),
    "phone_cards": ("电话卡", "Phone cards"),
    "bank_cards": ("银行卡", "Bank cards"),
    "platform_accounts": ("互联网账号", "Platform accounts"),
    "number": ("号码", "Number"),
    "issuer": ("发卡/开户方", "Issuer"),
    "opened": ("开户时间", "Opened"),
    "not_mine": ("非本人办理", "Not mine"),
    "flagged": ("已标记非本人", "Flagged as not mine"),
    "flag_done": ("已通知", "Sent to"),
    "metric": ("指标", "Metric"),
    "value": ("数值", "Value"),
    "no_score": (
        "未找到评分（运行 fanzha score，并以 FANZHA_SCORE 指向 score.json）",
        "No scorecard (run fanzha score and point FANZHA_SCORE at its score.json)",
    ),
    "error": ("出错", "Error"),
    "rings": ("资金团伙", "Account rings"),
    "rings_help": (
        "被判定为涉诈账户（卡农）且相互转账的账户组；证据为各账户的判定理由。",
        "Accounts scored as mules that pay each other; the evidence is each account's reasons.",
    ),
    "ring": ("团伙", "Ring"),
    "transfers": ("笔数", "Transfers"),
    "community": ("无诈社区", "Fraud-free communities"),
    "community_help": (
        "按身份证登记地（区县）统计：预警、受害、劝阻率与覆盖率。",
        "By the county of the holder's resident ID: warnings, victims, dissuasion and coverage.",
    ),
    "region": ("区县", "County"),
    "residents": ("登记居民", "Residents"),
    "warned": ("被预警人数", "Warned"),
    "warnings": ("预警数", "Warnings"),
    "worked": ("已处置", "Worked"),
    "dissuaded": ("劝阻成功", "Dissuaded"),
    "dissuasion_rate": ("劝阻率", "Dissuasion rate"),
    "cases": ("案件", "Cases"),
    "coverage": ("覆盖率", "Coverage"),
}


def translator(lang: str):
    i = LANGS.index(lang) if lang in LANGS else 0

    def t(key: str) -> str:
        pair = STRINGS.get(key)
        return pair[i] if pair else key

    return t
